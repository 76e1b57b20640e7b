// redis_contact_store: per client address one hash (`<prefix>c:a:<address>`, field
// "host|source", value "first|last|count|expires_at"), per MX host the newest contact of
// anyone (`c:h:<host>`: "last|expires_at"), and ingest positions (`c:pos:<file>`), each
// contact key with a TTL of `keep` from its last write. A batch is one Lua script: every
// contact counted once, and with record_ingested the file position in the same script.
#include "state/redis_stores.hpp"

#include <algorithm>

namespace backstop::state {

namespace {

// ARGV: prefix, keep, position key ("" = none), position value, then per contact address,
// host, source, at. Keys are built here (one batch touches many): not for Redis Cluster.
constexpr const char* record_script = R"lua(
local prefix, keep = ARGV[1], tonumber(ARGV[2])
local hosts = {}
local i = 5
while i + 3 <= #ARGV do
  local address, host, source, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local expires = at + keep
  local key, field = prefix .. 'c:a:' .. address, host .. '\31' .. source
  local first, last, count, until_at = at, at, 1, expires
  local old = redis.call('HGET', key, field)
  if old then
    local f, l, c, x = string.match(old, '^(%-?%d+)\31(%-?%d+)\31(%d+)\31(%-?%d+)$')
    if f then
      first, last = math.min(tonumber(f), at), math.max(tonumber(l), at)
      count, until_at = tonumber(c) + 1, math.max(tonumber(x), expires)
    end
  end
  redis.call('HSET', key, field, first .. '\31' .. last .. '\31' .. count .. '\31' .. until_at)
  redis.call('EXPIRE', key, math.max(1, keep))
  local h = hosts[host]
  if h then
    h[1], h[2] = math.max(h[1], at), math.max(h[2], expires)
  else
    hosts[host] = {at, expires}
  end
  i = i + 4
end
-- A batch is mostly one host's contacts: its newest contact is read and written once.
for host, h in pairs(hosts) do
  local host_key = prefix .. 'c:h:' .. host
  local old = redis.call('GET', host_key)
  if old then
    local a, b = string.match(old, '^(%-?%d+)\31(%-?%d+)$')
    if a then h[1], h[2] = math.max(tonumber(a), h[1]), math.max(tonumber(b), h[2]) end
  end
  redis.call('SET', host_key, h[1] .. '\31' .. h[2], 'EX', math.max(1, keep))
end
if ARGV[3] ~= '' then redis.call('SET', ARGV[3], ARGV[4]) end
return 1
)lua";

struct Row {
  std::string host;
  std::string source;
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::uint64_t count = 0;
  std::int64_t expires = 0;
};

// The rows of one address's hash (HGETALL) not expired by now.
std::vector<Row> rows_of(const RedisValue& hash, std::int64_t now) {
  std::vector<Row> rows;
  const auto& v = hash.elements;
  for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
    auto key = redis_split(v[i].text);
    auto value = redis_split(v[i + 1].text);
    if (key.size() != 2 || value.size() != 4) {
      continue;
    }
    Row r{key[0],
          key[1],
          redis_integer(value[0]),
          redis_integer(value[1]),
          static_cast<std::uint64_t>(redis_integer(value[2])),
          redis_integer(value[3])};
    if (r.expires > now) {
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

class RedisContactStore final : public ContactStore {
public:
  explicit RedisContactStore(RedisSpace space) : space_(std::move(space)) {}

  Status record(const std::vector<Contact>& contacts, std::int64_t keep) override {
    return write(contacts, keep, "", "");
  }

  Status record_ingested(const std::vector<Contact>& contacts, std::int64_t keep,
                         const IngestPosition& p) override {
    return write(
        contacts, keep, space_.key("c:pos", p.file),
        redis_join({std::to_string(p.device), std::to_string(p.inode), std::to_string(p.offset)}));
  }

  Result<std::optional<IngestPosition>> position(const std::string& file) override {
    auto got = space_.redis.command({"GET", space_.key("c:pos", file)});
    if (!got) {
      return got.error();
    }
    if (got.value().nil()) {
      return std::optional<IngestPosition>{};
    }
    auto f = redis_split(got.value().text);
    if (f.size() != 3) {
      return make_error(ErrorKind::Corrupt, "state store: redis: ingest position of " + file);
    }
    return std::optional<IngestPosition>{
        IngestPosition{file, static_cast<std::uint64_t>(redis_integer(f[0])),
                       static_cast<std::uint64_t>(redis_integer(f[1])),
                       static_cast<std::uint64_t>(redis_integer(f[2]))}};
  }

  Result<std::vector<ContactHistory>> contacts(const std::string& address,
                                               std::int64_t now) override {
    auto got = space_.redis.command({"HGETALL", space_.key("c:a", address)});
    if (!got) {
      return got.error();
    }
    auto rows = rows_of(got.value(), now);
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      if (a.last != b.last) {
        return a.last > b.last;
      }
      return std::tie(a.host, a.source) < std::tie(b.host, b.source);
    });
    std::vector<ContactHistory> out;
    for (auto& r : rows) {
      out.push_back({address, r.host, r.source, r.first, r.last, r.count, r.expires});
    }
    return out;
  }

  // One round trip: the client's hash and every host's newest contact, pipelined.
  Result<std::vector<HostEvidence>> evidence(const std::string& address,
                                             const std::vector<std::string>& hosts,
                                             std::int64_t now) override {
    std::vector<std::vector<std::string>> commands;
    add_evidence_reads(commands, address, hosts);
    auto got = space_.redis.pipeline(commands);
    if (!got) {
      return got.error();
    }
    return evidence_from(got.value().data(), hosts, now);
  }

  // Every session's evidence in one pipeline: one round trip for all of them.
  Result<std::vector<Result<std::vector<HostEvidence>>>>
  evidence_each(const std::vector<EvidenceQuery>& queries) override {
    std::vector<std::vector<std::string>> commands;
    for (const auto& q : queries) {
      add_evidence_reads(commands, q.address, q.hosts);
    }
    auto got = space_.redis.pipeline(commands);
    if (!got) {
      return got.error();
    }
    std::vector<Result<std::vector<HostEvidence>>> out;
    const RedisValue* replies = got.value().data();
    for (const auto& q : queries) {
      out.emplace_back(evidence_from(replies, q.hosts, q.now));
      replies += 1 + q.hosts.size();
    }
    return out;
  }

  Result<std::size_t> erase_expired(std::int64_t) override {
    return std::size_t{0}; // the keys' TTLs
  }

private:
  void add_evidence_reads(std::vector<std::vector<std::string>>& commands,
                          const std::string& address, const std::vector<std::string>& hosts) const {
    commands.push_back({"HGETALL", space_.key("c:a", address)});
    for (const auto& host : hosts) {
      commands.push_back({"GET", space_.key("c:h", host)});
    }
  }

  // replies: the client's hash, then each host's newest contact (add_evidence_reads' order).
  static std::vector<HostEvidence> evidence_from(const RedisValue* replies,
                                                 const std::vector<std::string>& hosts,
                                                 std::int64_t now) {
    const auto rows = rows_of(replies[0], now);
    std::vector<HostEvidence> out;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      HostEvidence e{hosts[i]};
      for (const auto& r : rows) {
        if (r.host == hosts[i]) {
          e.client_last = std::max(e.client_last, r.last);
        }
      }
      const auto& anyone = replies[i + 1];
      if (!anyone.nil()) {
        auto f = redis_split(anyone.text);
        if (f.size() == 2 && redis_integer(f[1]) > now) {
          e.anyone_last = redis_integer(f[0]);
        }
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  Status write(const std::vector<Contact>& contacts, std::int64_t keep,
               const std::string& position_key, const std::string& position) {
    std::vector<std::string> args{space_.prefix, std::to_string(keep), position_key, position};
    for (const auto& c : contacts) {
      args.insert(args.end(), {c.address, c.host, c.source, std::to_string(c.at)});
    }
    auto done = space_.redis.eval(record_script, {}, args, redis_bulk_timeout);
    if (!done) {
      return done.error();
    }
    return mail::Ok{};
  }

  RedisSpace space_;
};

} // namespace

std::unique_ptr<ContactStore> make_redis_contact_store(RedisSpace space) {
  return std::make_unique<RedisContactStore>(std::move(space));
}

} // namespace backstop::state
