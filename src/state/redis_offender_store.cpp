// redis_offender_store: per address a sorted set of its offenses (`<prefix>o:e:<address>`,
// scored by time, each member "id|fields"), a sorted set of the ids of its counting ones
// (`o:c:<address>`) and its listing hash (`o:l:<address>`); beside them every offense in
// `o:all` (the status page's week), the listed addresses in `o:listed`, the id counter
// `o:seq`, and a hash per persistence triplet (`o:r:<network>|<sender>|<recipient>`).
// record() is one Lua script: the offense, the count in the window and the listing it
// causes see no other host's record in between.
#include "state/redis_stores.hpp"

#include <climits>

namespace backstop::state {

namespace {

// KEYS: offenses, counting, listing, all, seq, listed. ARGV: at, counts (0/1), the offense's
// fields, threshold, window, listing seconds, keep_offenses, address, the window in words.
// Returns {count, newly (0/1), listed (0/1), listed_at, expires_at, reason, manual}.
constexpr const char* record_script = R"lua(
local at, counts, fields = tonumber(ARGV[1]), ARGV[2] == '1', ARGV[3]
local threshold, window, listing, keep = tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]), tonumber(ARGV[7])
local id = redis.call('INCR', KEYS[5])
local member = string.format('%016d', id) .. '\31' .. fields
redis.call('ZADD', KEYS[1], at, member)
redis.call('ZADD', KEYS[4], at, member)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - keep)
redis.call('EXPIRE', KEYS[1], math.max(1, keep))
if counts then redis.call('ZADD', KEYS[2], at, id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', at - keep)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], math.max(1, keep)) end
local count = redis.call('ZCOUNT', KEYS[2], '(' .. (at - window), at)
local l = redis.call('HMGET', KEYS[3], 'listed_at', 'expires_at', 'reason', 'manual')
local listed = l[1] and (tonumber(l[2]) == 0 or tonumber(l[2]) > at)
if threshold == 0 or not counts or count < threshold then
  if listed then return {count, 0, 1, l[1], l[2], l[3], l[4]} end
  return {count, 0, 0}
end
local till = at + listing
if listed and (tonumber(l[2]) == 0 or tonumber(l[2]) >= till) then
  return {count, 0, 1, l[1], l[2], l[3], l[4]}
end
local listed_at, newly = at, 1
if listed then listed_at, newly = tonumber(l[1]), 0 end
local reason = count .. ' offenses within ' .. ARGV[9]
redis.call('HSET', KEYS[3], 'listed_at', listed_at, 'expires_at', till, 'reason', reason,
           'manual', 0)
redis.call('EXPIRE', KEYS[3], math.max(1, listing))
redis.call('ZADD', KEYS[6], 0, ARGV[8])
return {count, newly, 1, listed_at, till, reason, 0}
)lua";

// KEYS: listed. ARGV: the prefix of listing keys, now. Every listing not expired, by address;
// addresses whose listing is gone leave the index.
constexpr const char* listings_script = R"lua(
local now, out = tonumber(ARGV[2]), {}
for _, address in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local l = redis.call('HMGET', ARGV[1] .. address, 'listed_at', 'expires_at', 'reason', 'manual')
  if not l[1] then
    redis.call('ZREM', KEYS[1], address)
  elseif tonumber(l[2]) == 0 or tonumber(l[2]) > now then
    table.insert(out, address) table.insert(out, l[1]) table.insert(out, l[2])
    table.insert(out, l[3]) table.insert(out, l[4])
  end
end
return out
)lua";

// KEYS: the triplet's retry hash. ARGV: now, forget_after. Returns {attempts, first_at}.
constexpr const char* retry_script = R"lua(
local now, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local r = redis.call('HMGET', KEYS[1], 'attempts', 'first_at', 'expires_at')
local attempts, first = 1, now
if r[1] and tonumber(r[3]) > now then attempts, first = tonumber(r[1]) + 1, tonumber(r[2]) end
redis.call('HSET', KEYS[1], 'attempts', attempts, 'first_at', first, 'expires_at', first + forget)
redis.call('EXPIRE', KEYS[1], math.max(1, first + forget - now))
return {attempts, first}
)lua";

std::string offense_fields(const Offense& o) {
  return redis_join({o.address, to_string(o.kind), o.listener, o.helo, o.sender_domain,
                     o.recipient_domain, o.detail, o.counts ? "1" : "0", o.ptr});
}

std::optional<Offense> offense_from(const std::string& member, std::int64_t at) {
  auto f = redis_split(member); // id, then offense_fields
  if (f.size() < 10) {
    return std::nullopt;
  }
  Offense o;
  o.address = f[1];
  o.at = at;
  o.kind = offense_kind_from(f[2]).value_or(OffenseKind::PrimaryDeferral);
  o.listener = f[3];
  o.helo = f[4];
  o.sender_domain = f[5];
  o.recipient_domain = f[6];
  o.detail = f[7];
  o.counts = f[8] == "1";
  o.ptr = f[9];
  return o;
}

Listing listing_from(const std::string& address, const RedisValue* v) {
  return Listing{address, redis_integer(v[0]), redis_integer(v[1]), v[2].text,
                 redis_integer(v[3]) != 0};
}

class RedisOffenderStore final : public OffenderStore {
public:
  explicit RedisOffenderStore(RedisSpace space) : space_(std::move(space)) {}

  Result<RecordOutcome> record(const Offense& o, const BlacklistRules& rules) override {
    auto got = space_.redis.eval(
        record_script,
        {space_.key("o:e", o.address), space_.key("o:c", o.address), space_.key("o:l", o.address),
         space_.key("o", "all"), space_.key("o", "seq"), space_.key("o", "listed")},
        {std::to_string(o.at), o.counts ? "1" : "0", offense_fields(o),
         std::to_string(rules.threshold), std::to_string(rules.window),
         std::to_string(rules.listing), std::to_string(rules.keep_offenses), o.address,
         seconds_in_words(rules.window)});
    if (!got) {
      return got.error();
    }
    const auto& v = got.value().elements;
    if (v.size() < 3) {
      return make_error(ErrorKind::Corrupt, "state store: redis: offense script answered nonsense");
    }
    RecordOutcome out;
    out.counting_in_window = static_cast<std::uint64_t>(redis_integer(v[0]));
    out.newly_listed = redis_integer(v[1]) != 0;
    if (redis_integer(v[2]) != 0 && v.size() >= 7) {
      out.listed = listing_from(o.address, &v[3]);
    }
    return out;
  }

  Result<std::optional<Listing>> listing(const std::string& address, std::int64_t now) override {
    auto got = space_.redis.command(listing_read(address));
    if (!got) {
      return got.error();
    }
    return listing_of(address, got.value(), now);
  }

  // One pipeline: every session's read in one round trip.
  Result<std::vector<Result<std::optional<Listing>>>>
  listing_each(const std::vector<ListingQuery>& queries) override {
    std::vector<std::vector<std::string>> commands;
    commands.reserve(queries.size());
    for (const auto& q : queries) {
      commands.push_back(listing_read(q.address));
    }
    auto got = space_.redis.pipeline(commands);
    if (!got) {
      return got.error();
    }
    std::vector<Result<std::optional<Listing>>> out;
    out.reserve(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
      out.emplace_back(listing_of(queries[i].address, got.value()[i], queries[i].now));
    }
    return out;
  }

  Status list(const Listing& l) override {
    const std::string key = space_.key("o:l", l.address);
    std::vector<std::vector<std::string>> commands{
        {"MULTI"},
        {"DEL", key},
        {"HSET", key, "listed_at", std::to_string(l.listed_at), "expires_at",
         std::to_string(l.expires_at), "reason", l.reason, "manual", l.manual ? "1" : "0"},
        {"ZADD", space_.key("o", "listed"), "0", l.address}};
    if (l.expires_at != 0) {
      // Relative to listed_at: the caller's clock, which need not be Redis' clock.
      commands.push_back({"EXPIRE", key, std::to_string(redis_ttl(l.expires_at, l.listed_at))});
    }
    commands.push_back({"EXEC"});
    auto done = space_.redis.pipeline(commands);
    if (!done) {
      return done.error();
    }
    return mail::Ok{};
  }

  Result<bool> unlist(const std::string& address) override {
    auto done = space_.redis.pipeline(
        {{"DEL", space_.key("o:l", address)}, {"ZREM", space_.key("o", "listed"), address}});
    if (!done) {
      return done.error();
    }
    return done.value().front().integer != 0;
  }

  Result<std::vector<Listing>> listings(std::int64_t now) override {
    auto got = space_.redis.eval(listings_script, {space_.key("o", "listed")},
                                 {space_.key("o:l", ""), std::to_string(now)}, redis_bulk_timeout);
    if (!got) {
      return got.error();
    }
    std::vector<Listing> out;
    const auto& v = got.value().elements;
    for (std::size_t i = 0; i + 4 < v.size(); i += 5) {
      out.push_back(listing_from(v[i].text, &v[i + 1]));
    }
    return out;
  }

  Result<std::vector<Offense>> offenses(const std::string& address, std::int64_t since,
                                        std::size_t limit) override {
    const std::string key = address.empty() ? space_.key("o", "all") : space_.key("o:e", address);
    const std::string count =
        limit > static_cast<std::size_t>(INT_MAX) ? "-1" : std::to_string(limit);
    auto got = space_.redis.command(
        {"ZREVRANGEBYSCORE", key, "+inf", std::to_string(since), "WITHSCORES", "LIMIT", "0", count},
        redis_bulk_timeout);
    if (!got) {
      return got.error();
    }
    std::vector<Offense> out;
    const auto& v = got.value().elements;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      if (auto o = offense_from(v[i].text, redis_integer(v[i + 1])); o) {
        out.push_back(std::move(*o));
      }
    }
    return out;
  }

  Result<RetryHistory> record_retry(const Triplet& t, std::int64_t now,
                                    std::int64_t forget_after) override {
    auto got = space_.redis.eval(
        retry_script, {space_.key("o:r", t.network + "|" + t.sender + "|" + t.recipient)},
        {std::to_string(now), std::to_string(forget_after)});
    if (!got) {
      return got.error();
    }
    const auto& v = got.value().elements;
    if (v.size() != 2) {
      return make_error(ErrorKind::Corrupt, "state store: redis: retry script answered nonsense");
    }
    return RetryHistory{static_cast<std::uint64_t>(redis_integer(v[0])), redis_integer(v[1])};
  }

  // Per-address keys expire by themselves; the shared index of every offense is trimmed here.
  Result<std::size_t> erase_expired(std::int64_t now, const BlacklistRules& rules) override {
    auto done = space_.redis.command({"ZREMRANGEBYSCORE", space_.key("o", "all"), "-inf",
                                      std::to_string(now - rules.keep_offenses)},
                                     redis_bulk_timeout);
    if (!done) {
      return done.error();
    }
    return static_cast<std::size_t>(done.value().integer);
  }

private:
  std::vector<std::string> listing_read(const std::string& address) const {
    return {"HMGET", space_.key("o:l", address), "listed_at", "expires_at", "reason", "manual"};
  }

  static std::optional<Listing> listing_of(const std::string& address, const RedisValue& reply,
                                           std::int64_t now) {
    const auto& v = reply.elements;
    if (v.size() != 4 || v[0].nil()) {
      return std::nullopt;
    }
    Listing l = listing_from(address, v.data());
    if (l.expires_at != 0 && l.expires_at <= now) {
      return std::nullopt;
    }
    return l;
  }

  RedisSpace space_;
};

} // namespace

std::unique_ptr<OffenderStore> make_redis_offender_store(RedisSpace space) {
  return std::make_unique<RedisOffenderStore>(std::move(space));
}

} // namespace backstop::state
