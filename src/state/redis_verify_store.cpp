// redis_verify_store: one string key per address, `<prefix>v:<address>`, holding
// "result|checked_at|expires_at|reply" with a TTL until expires_at: one GET per lookup,
// one SET per answer, and Redis forgets answers by itself.
#include "state/redis_stores.hpp"

#include <algorithm>

namespace backstop::state {

namespace {

std::optional<VerifyEntry> entry_from(const std::string& address, const RedisValue& value) {
  if (value.type != RedisValue::Type::String) {
    return std::nullopt;
  }
  auto f = redis_split(value.text);
  if (f.size() < 4) {
    return std::nullopt;
  }
  VerifyEntry e;
  e.address = address;
  e.result = f[0] == "valid" ? VerifyResult::Valid : VerifyResult::Invalid;
  e.checked_at = redis_integer(f[1]);
  e.expires_at = redis_integer(f[2]);
  e.reply = f[3];
  return e;
}

class RedisVerifyStore final : public VerifyStore {
public:
  explicit RedisVerifyStore(RedisSpace space) : space_(std::move(space)) {}

  Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                std::int64_t now) override {
    auto got = space_.redis.command({"GET", space_.key("v", address)});
    if (!got) {
      return got.error();
    }
    auto entry = entry_from(address, got.value());
    if (entry && entry->expires_at <= now) {
      entry.reset(); // expired by the caller's clock, before Redis let it go
    }
    return entry;
  }

  Status put_verify(const VerifyEntry& e) override {
    const std::string value = redis_join(
        {to_string(e.result), std::to_string(e.checked_at), std::to_string(e.expires_at), e.reply});
    auto set = space_.redis.command({"SET", space_.key("v", e.address), value, "EX",
                                     std::to_string(redis_ttl(e.expires_at, e.checked_at))});
    if (!set) {
      return set.error();
    }
    return mail::Ok{};
  }

  Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) override {
    auto found = redis_scan(space_.redis, redis_glob_escape(space_.key("v", "")) + "*");
    if (!found) {
      return found.error();
    }
    std::vector<VerifyEntry> out;
    const std::size_t skip = space_.key("v", "").size();
    for (std::size_t i = 0; i < found.value().size(); i += 500) {
      std::vector<std::string> mget{"MGET"};
      const auto end = std::min(found.value().size(), i + 500);
      mget.insert(mget.end(), found.value().begin() + static_cast<std::ptrdiff_t>(i),
                  found.value().begin() + static_cast<std::ptrdiff_t>(end));
      auto values = space_.redis.command(mget, redis_bulk_timeout);
      if (!values) {
        return values.error();
      }
      for (std::size_t k = 0; k < values.value().elements.size(); ++k) {
        auto e = entry_from(mget[k + 1].substr(skip), values.value().elements[k]);
        if (e && e->expires_at > now) {
          out.push_back(std::move(*e));
        }
      }
    }
    std::sort(out.begin(), out.end(),
              [](const VerifyEntry& a, const VerifyEntry& b) { return a.address < b.address; });
    return out;
  }

  Result<std::size_t> erase_verify(const std::string& pattern) override {
    if (!pattern.empty() && pattern.front() != '@') {
      auto erased = space_.redis.command({"DEL", space_.key("v", pattern)});
      if (!erased) {
        return erased.error();
      }
      return static_cast<std::size_t>(erased.value().integer);
    }
    // "" = every address, "@domain" = the addresses ending in it (a suffix, as in SQLite).
    auto found = redis_scan(space_.redis, redis_glob_escape(space_.key("v", "")) + "*" +
                                              redis_glob_escape(pattern));
    if (!found) {
      return found.error();
    }
    std::size_t erased = 0;
    for (std::size_t i = 0; i < found.value().size(); i += 500) {
      std::vector<std::string> del{"UNLINK"};
      const auto end = std::min(found.value().size(), i + 500);
      del.insert(del.end(), found.value().begin() + static_cast<std::ptrdiff_t>(i),
                 found.value().begin() + static_cast<std::ptrdiff_t>(end));
      auto done = space_.redis.command(del, redis_bulk_timeout);
      if (!done) {
        return done.error();
      }
      erased += static_cast<std::size_t>(done.value().integer);
    }
    return erased;
  }

  Result<std::size_t> erase_expired(std::int64_t) override {
    return std::size_t{0}; // the keys' TTLs
  }

private:
  RedisSpace space_;
};

} // namespace

std::unique_ptr<VerifyStore> make_redis_verify_store(RedisSpace space) {
  return std::make_unique<RedisVerifyStore>(std::move(space));
}

} // namespace backstop::state
