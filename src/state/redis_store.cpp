// redis_store: the shared state store. One connection (state/redis_connection.hpp) shared
// by every concern's store, opened at startup so that a wrong URL or password is a
// configuration error; later outages are each call's Unavailable or Timeout.
#include "state/redis_stores.hpp"

#include <charconv>

namespace backstop::state {

std::string redis_join(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) {
      out += redis_separator;
    }
    for (char c : fields[i]) {
      out += c == redis_separator ? '?' : c;
    }
  }
  return out;
}

std::vector<std::string> redis_split(std::string_view value) {
  std::vector<std::string> out;
  for (;;) {
    const auto at = value.find(redis_separator);
    out.emplace_back(value.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    value.remove_prefix(at + 1);
  }
}

std::string redis_glob_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::int64_t redis_integer(std::string_view text) {
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::int64_t redis_integer(const RedisValue& value) {
  if (value.type == RedisValue::Type::Integer) {
    return value.integer;
  }
  return value.type == RedisValue::Type::String ? redis_integer(value.text) : 0;
}

Result<std::vector<std::string>> redis_scan(RedisConnection& redis, const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto page =
        redis.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, redis_bulk_timeout);
    if (!page) {
      return page.error();
    }
    if (page.value().elements.size() != 2) {
      return make_error(ErrorKind::Corrupt, "state store: redis: SCAN answered no page");
    }
    cursor = page.value().elements[0].text;
    for (const auto& key : page.value().elements[1].elements) {
      keys.push_back(key.text);
    }
  } while (cursor != "0");
  return keys;
}

namespace {

class RedisStore final : public Store {
public:
  RedisStore(RedisOptions options, const std::string& prefix)
      : redis_(std::move(options)), verify_(make_redis_verify_store({redis_, prefix})),
        greylist_(make_redis_greylist_store({redis_, prefix})),
        offenders_(make_redis_offender_store({redis_, prefix})),
        primary_status_(make_redis_primary_status_store({redis_, prefix})),
        contacts_(make_redis_contact_store({redis_, prefix})) {}

  VerifyStore& verify() override { return *verify_; }
  GreylistStore& greylist() override { return *greylist_; }
  OffenderStore& offenders() override { return *offenders_; }
  PrimaryStatusStore& primary_status() override { return *primary_status_; }
  ContactStore& contacts() override { return *contacts_; }
  RedisConnection& connection() { return redis_; }

private:
  RedisConnection redis_;
  std::unique_ptr<VerifyStore> verify_;
  std::unique_ptr<GreylistStore> greylist_;
  std::unique_ptr<OffenderStore> offenders_;
  std::unique_ptr<PrimaryStatusStore> primary_status_;
  std::unique_ptr<ContactStore> contacts_;
};

} // namespace

mail::Result<std::unique_ptr<Store>> open_redis(const StoreOptions& options) {
  auto address = parse_redis_url(options.url);
  if (!address) {
    return mail::make_error("state.url \"" + options.url + "\": " + address.error().message);
  }
  if (!options.password.empty()) {
    address.value().password = options.password;
  }
  RedisOptions redis;
  redis.address = address.value();
  redis.timeout = options.timeout;
  redis.connect_timeout = std::max(options.timeout * 5, std::chrono::milliseconds{50});
  redis.health = options.health;
  redis.error = options.error;
  auto store = std::make_unique<RedisStore>(std::move(redis), options.key_prefix);
  if (auto up = store->connection().connect(); !up) {
    // A server with a local store to fall back on starts during an outage (the backup MX is
    // needed most then); Redis that answers but refuses the password is a config error.
    if (options.fallback.enabled && !store->connection().reached_server()) {
      return std::unique_ptr<Store>(std::move(store));
    }
    return mail::make_error("state.url " + options.url + ": " + up.error().message);
  }
  if (auto ping = store->connection().command({"PING"}); !ping) {
    return mail::make_error("state.url " + options.url + ": " + ping.error().message);
  }
  return std::unique_ptr<Store>(std::move(store));
}

} // namespace backstop::state
