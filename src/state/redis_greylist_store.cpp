// redis_greylist_store: a hash per triplet (`<prefix>g:t:<network>|<sender>|<recipient>`:
// first_seen, last_seen, passes, expires_at), per network (`g:n:<network>`: passes,
// allowed_until, expires_at) and a string per known sender domain (`g:d:<domain>`: its
// expiry), each with a TTL. record_attempt is one Lua script over the three keys, so two
// hosts retrying the same triplet at once see one another's writes, never half of them.
#include "state/redis_stores.hpp"

namespace backstop::state {

namespace {

// KEYS: triplet, network, domain. ARGV: now, delay, retry_window, lifetime, allow_after,
// allow_lifetime, remember (0/1: SPF pass, a domain, rules.remember_domains), domain_lifetime.
// Returns {status, first_seen, last_seen, passes, expires_at, retry_at, network_passes,
// allowed_until}; status 0 network allowed, 1 domain known, 2 new, 3 early, 4 passed.
constexpr const char* record_attempt_script = R"lua(
local now = tonumber(ARGV[1])
local delay, retry, life = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local allow_after, allow_life = tonumber(ARGV[5]), tonumber(ARGV[6])
local remember, domain_life = ARGV[7] == '1', tonumber(ARGV[8])
local function ttl(key, at) redis.call('EXPIRE', key, math.max(1, at - now)) end
local function network()
  local n = redis.call('HMGET', KEYS[2], 'passes', 'allowed_until', 'expires_at')
  if n[1] and tonumber(n[3]) > now then return tonumber(n[1]), tonumber(n[2]), tonumber(n[3]) end
  return nil
end
if allow_after > 0 then
  local passes, allowed, expires = network()
  if passes and allowed > now then
    local till = now + allow_life
    local keep = math.max(expires, till)
    redis.call('HSET', KEYS[2], 'allowed_until', till, 'expires_at', keep)
    ttl(KEYS[2], keep)
    return {0, 0, 0, 0, 0, 0, passes, till}
  end
end
if remember then
  local known = redis.call('GET', KEYS[3])
  if known and tonumber(known) > now then
    redis.call('SET', KEYS[3], now + domain_life, 'EX', math.max(1, domain_life))
    return {1, 0, 0, 0, 0, 0, 0, 0}
  end
end
local t = redis.call('HMGET', KEYS[1], 'first_seen', 'last_seen', 'passes', 'expires_at')
local status, first, passes, expires, retry_at = 2, now, 0, now + retry, now + delay
if t[1] and tonumber(t[4]) > now then
  first, passes = tonumber(t[1]), tonumber(t[3])
  if passes == 0 and now < first + delay then
    status, expires, retry_at = 3, tonumber(t[4]), first + delay
  else
    status, passes, expires, retry_at = 4, passes + 1, now + life, 0
  end
end
redis.call('HSET', KEYS[1], 'first_seen', first, 'last_seen', now, 'passes', passes,
           'expires_at', expires)
ttl(KEYS[1], expires)
local network_passes, allowed_until = 0, 0
if status == 4 then
  if allow_after > 0 then
    local p, a = network()
    p, a = (p or 0) + 1, a or 0
    if p >= allow_after then a = now + allow_life end
    redis.call('HSET', KEYS[2], 'passes', p, 'allowed_until', a, 'expires_at', now + allow_life)
    ttl(KEYS[2], now + allow_life)
    network_passes, allowed_until = p, a
  end
  if remember then
    redis.call('SET', KEYS[3], now + domain_life, 'EX', math.max(1, domain_life))
  end
end
return {status, first, now, passes, expires, retry_at, network_passes, allowed_until}
)lua";

constexpr GreylistStatus statuses[] = {GreylistStatus::NetworkAllowed, GreylistStatus::DomainKnown,
                                       GreylistStatus::New, GreylistStatus::Early,
                                       GreylistStatus::Passed};

class RedisGreylistStore final : public GreylistStore {
public:
  explicit RedisGreylistStore(RedisSpace space) : space_(std::move(space)) {}

  Result<GreylistOutcome> record_attempt(const GreylistAttempt& a,
                                         const GreylistRules& rules) override {
    const Triplet& t = a.triplet;
    const bool remember = rules.remember_domains && a.spf_pass && !a.sender_domain.empty();
    auto got =
        space_.redis.eval(record_attempt_script,
                          {space_.key("g:t", t.network + "|" + t.sender + "|" + t.recipient),
                           space_.key("g:n", t.network), space_.key("g:d", a.sender_domain)},
                          {std::to_string(a.now), std::to_string(rules.delay),
                           std::to_string(rules.retry_window), std::to_string(rules.lifetime),
                           std::to_string(rules.allow_after), std::to_string(rules.allow_lifetime),
                           remember ? "1" : "0", std::to_string(rules.domain_lifetime)});
    if (!got) {
      return got.error();
    }
    const auto& v = got.value().elements;
    if (v.size() != 8 || redis_integer(v[0]) < 0 || redis_integer(v[0]) > 4) {
      return make_error(ErrorKind::Corrupt,
                        "state store: redis: greylist script answered nonsense");
    }
    GreylistOutcome out;
    out.status = statuses[redis_integer(v[0])];
    if (out.status != GreylistStatus::NetworkAllowed && out.status != GreylistStatus::DomainKnown) {
      out.triplet = {redis_integer(v[1]), redis_integer(v[2]),
                     static_cast<std::uint64_t>(redis_integer(v[3])), redis_integer(v[4])};
      out.retry_at = redis_integer(v[5]);
    }
    out.network_passes = static_cast<std::uint64_t>(redis_integer(v[6]));
    out.allowed_until = redis_integer(v[7]);
    return out;
  }

  Result<std::size_t> erase_expired(std::int64_t) override {
    return std::size_t{0}; // the keys' TTLs
  }

private:
  RedisSpace space_;
};

} // namespace

std::unique_ptr<GreylistStore> make_redis_greylist_store(RedisSpace space) {
  return std::make_unique<RedisGreylistStore>(std::move(space));
}

} // namespace backstop::state
