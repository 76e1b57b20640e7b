// redis_primary_status_store: the monitor's hosts in one hash (`<prefix>p:current`, field
// "domain|host", value "state|since|reason") and their changes in one list
// (`p:history`, oldest first, each "at|domain|host|from|to|reason"). record_change is one
// Lua script: the current state, the appended change and the trimmed history together.
#include "state/redis_stores.hpp"

#include <algorithm>

namespace backstop::state {

namespace {

// KEYS: current, history. ARGV: field, value, change, cutoff (history before it is dropped).
constexpr const char* record_change_script = R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
local cutoff = tonumber(ARGV[4])
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head or tonumber(string.match(head, '^(%-?%d+)')) >= cutoff then break end
  redis.call('LPOP', KEYS[2])
end
return 1
)lua";

class RedisPrimaryStatusStore final : public PrimaryStatusStore {
public:
  explicit RedisPrimaryStatusStore(RedisSpace space) : space_(std::move(space)) {}

  Status record_change(const PrimaryStatusChange& c, std::int64_t keep_seconds) override {
    auto done = space_.redis.eval(
        record_change_script, {space_.key("p", "current"), space_.key("p", "history")},
        {redis_join({c.domain, c.host}), redis_join({c.to, std::to_string(c.at), c.reason}),
         redis_join({std::to_string(c.at), c.domain, c.host, c.from, c.to, c.reason}),
         std::to_string(c.at - keep_seconds)});
    if (!done) {
      return done.error();
    }
    return mail::Ok{};
  }

  Result<std::vector<PrimaryHostStatus>> current() override {
    auto got = space_.redis.command({"HGETALL", space_.key("p", "current")}, redis_bulk_timeout);
    if (!got) {
      return got.error();
    }
    std::vector<PrimaryHostStatus> out;
    const auto& v = got.value().elements;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      auto key = redis_split(v[i].text);
      auto value = redis_split(v[i + 1].text);
      if (key.size() == 2 && value.size() == 3) {
        out.push_back({key[0], key[1], value[0], redis_integer(value[1]), value[2]});
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.domain, a.host) < std::tie(b.domain, b.host);
    });
    return out;
  }

  Result<std::vector<PrimaryStatusChange>> history(const std::string& domain, std::int64_t since,
                                                   std::size_t limit) override {
    auto got =
        space_.redis.command({"LRANGE", space_.key("p", "history"), "0", "-1"}, redis_bulk_timeout);
    if (!got) {
      return got.error();
    }
    std::vector<PrimaryStatusChange> out;
    for (const auto& item : got.value().elements) {
      auto f = redis_split(item.text);
      if (out.size() >= limit) {
        break;
      }
      if (f.size() != 6 || redis_integer(f[0]) < since || (!domain.empty() && f[1] != domain)) {
        continue;
      }
      out.push_back({f[1], f[2], f[3], f[4], redis_integer(f[0]), f[5]});
    }
    return out;
  }

private:
  RedisSpace space_;
};

} // namespace

std::unique_ptr<PrimaryStatusStore> make_redis_primary_status_store(RedisSpace space) {
  return std::make_unique<RedisPrimaryStatusStore>(std::move(space));
}

} // namespace backstop::state
