// sqlite_greylist_store: greylisting in three tables (triplets, networks, sender domains),
// each row with its expiry. record_attempt is one IMMEDIATE transaction: the reads and
// the writes of one attempt see no other attempt in between, from this process or another.
#include "state/sqlite_stores.hpp"

#include <algorithm>
#include <optional>

namespace backstop::state {

const char* const sqlite_greylist_schema = R"sql(
CREATE TABLE IF NOT EXISTS greylist_triplet (
  network    TEXT NOT NULL,
  sender     TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  passes     INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (network, sender, recipient)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS greylist_triplet_expires ON greylist_triplet(expires_at);
CREATE TABLE IF NOT EXISTS greylist_network (
  network       TEXT PRIMARY KEY,
  passes        INTEGER NOT NULL,
  allowed_until INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS greylist_domain (
  domain     TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

namespace {

struct NetworkRow {
  std::uint64_t passes = 0;
  std::int64_t allowed_until = 0;
  std::int64_t expires_at = 0;
};

class SqliteGreylistStore final : public GreylistStore {
public:
  explicit SqliteGreylistStore(Database& db) : db_(db) {}

  Result<GreylistOutcome> record_attempt(const GreylistAttempt& attempt,
                                         const GreylistRules& rules) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() { return decide(attempt, rules); });
  }

  Result<std::size_t> erase_expired(std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Result<std::size_t> {
      std::size_t erased = 0;
      for (const char* sql : {"DELETE FROM greylist_triplet WHERE expires_at <= ?1",
                              "DELETE FROM greylist_network WHERE expires_at <= ?1",
                              "DELETE FROM greylist_domain WHERE expires_at <= ?1"}) {
        auto done = db_.write_locked(sql, now);
        if (!done) {
          return done.error();
        }
        erased += done.value();
      }
      return erased;
    });
  }

private:
  Result<GreylistOutcome> decide(const GreylistAttempt& a, const GreylistRules& rules) {
    GreylistOutcome out;
    if (rules.allow_after > 0) {
      auto network = read_network(a.triplet.network, a.now);
      if (!network) {
        return network.error();
      }
      if (network.value() && network.value()->allowed_until > a.now) {
        return network_allowed(a, rules, *network.value());
      }
    }
    if (remembers_domain(a, rules)) {
      auto known = db_.write_locked(
          "UPDATE greylist_domain SET expires_at = ?3 WHERE domain = ?1 AND expires_at > ?2",
          a.sender_domain, a.now, a.now + rules.domain_lifetime);
      if (!known) {
        return known.error();
      }
      if (known.value() != 0) {
        out.status = GreylistStatus::DomainKnown;
        return out;
      }
    }
    auto triplet = read_triplet(a.triplet, a.now);
    if (!triplet) {
      return triplet.error();
    }
    if (!triplet.value()) {
      out.status = GreylistStatus::New;
      out.triplet = {a.now, a.now, 0, a.now + rules.retry_window};
      out.retry_at = a.now + rules.delay;
    } else if (triplet.value()->passes == 0 && a.now < triplet.value()->first_seen + rules.delay) {
      out.status = GreylistStatus::Early;
      out.triplet = *triplet.value();
      out.triplet.last_seen = a.now;
      out.retry_at = out.triplet.first_seen + rules.delay;
    } else {
      out.status = GreylistStatus::Passed;
      out.triplet = *triplet.value();
      out.triplet.last_seen = a.now;
      out.triplet.passes += 1;
      out.triplet.expires_at = a.now + rules.lifetime;
    }
    if (auto written = write_triplet(a.triplet, out.triplet); !written) {
      return written.error();
    }
    if (out.status == GreylistStatus::Passed) {
      if (auto counted = count_pass(a, rules, out); !counted) {
        return counted.error();
      }
    }
    return out;
  }

  static bool remembers_domain(const GreylistAttempt& a, const GreylistRules& rules) {
    return rules.remember_domains && a.spf_pass && !a.sender_domain.empty();
  }

  Result<GreylistOutcome> network_allowed(const GreylistAttempt& a, const GreylistRules& rules,
                                          NetworkRow row) {
    // Still sending good mail: the allowlist lasts allow_lifetime from its last use.
    row.allowed_until = a.now + rules.allow_lifetime;
    row.expires_at = std::max(row.expires_at, row.allowed_until);
    if (auto written = write_network(a.triplet.network, row); !written) {
      return written.error();
    }
    GreylistOutcome out;
    out.status = GreylistStatus::NetworkAllowed;
    out.network_passes = row.passes;
    out.allowed_until = row.allowed_until;
    return out;
  }

  // A pass counts for the client's network (allowlisting it at allow_after) and, with SPF
  // pass, makes the sender domain known.
  Status count_pass(const GreylistAttempt& a, const GreylistRules& rules, GreylistOutcome& out) {
    if (rules.allow_after > 0) {
      auto network = read_network(a.triplet.network, a.now);
      if (!network) {
        return network.error();
      }
      NetworkRow row = network.value().value_or(NetworkRow{});
      row.passes += 1;
      row.expires_at = a.now + rules.allow_lifetime;
      if (row.passes >= rules.allow_after) {
        row.allowed_until = a.now + rules.allow_lifetime;
      }
      if (auto written = write_network(a.triplet.network, row); !written) {
        return written.error();
      }
      out.network_passes = row.passes;
      out.allowed_until = row.allowed_until;
    }
    if (remembers_domain(a, rules)) {
      auto written = db_.write_locked("INSERT OR REPLACE INTO greylist_domain VALUES (?1, ?2)",
                                      a.sender_domain, a.now + rules.domain_lifetime);
      if (!written) {
        return written.error();
      }
    }
    return mail::Ok{};
  }

  Result<std::optional<TripletState>> read_triplet(const Triplet& t, std::int64_t now) {
    Statement s(db_.handle(),
                "SELECT first_seen, last_seen, passes, expires_at FROM greylist_triplet "
                "WHERE network = ?1 AND sender = ?2 AND recipient = ?3 AND expires_at > ?4");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(t.network, t.sender, t.recipient, now);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return std::optional<TripletState>();
    }
    if (rc != SQLITE_ROW) {
      return db_.failure("read");
    }
    return std::optional<TripletState>(TripletState{
        s.integer(0), s.integer(1), static_cast<std::uint64_t>(s.integer(2)), s.integer(3)});
  }

  Status write_triplet(const Triplet& t, const TripletState& state) {
    auto written = db_.write_locked(
        "INSERT OR REPLACE INTO greylist_triplet VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", t.network,
        t.sender, t.recipient, state.first_seen, state.last_seen, state.passes, state.expires_at);
    if (!written) {
      return written.error();
    }
    return mail::Ok{};
  }

  Result<std::optional<NetworkRow>> read_network(const std::string& network, std::int64_t now) {
    Statement s(db_.handle(), "SELECT passes, allowed_until, expires_at FROM greylist_network "
                              "WHERE network = ?1 AND expires_at > ?2");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(network, now);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return std::optional<NetworkRow>();
    }
    if (rc != SQLITE_ROW) {
      return db_.failure("read");
    }
    return std::optional<NetworkRow>(
        NetworkRow{static_cast<std::uint64_t>(s.integer(0)), s.integer(1), s.integer(2)});
  }

  Status write_network(const std::string& network, const NetworkRow& row) {
    auto written =
        db_.write_locked("INSERT OR REPLACE INTO greylist_network VALUES (?1, ?2, ?3, ?4)", network,
                         row.passes, row.allowed_until, row.expires_at);
    if (!written) {
      return written.error();
    }
    return mail::Ok{};
  }

  Database& db_;
};

} // namespace

std::unique_ptr<GreylistStore> make_sqlite_greylist_store(Database& db) {
  return std::make_unique<SqliteGreylistStore>(db);
}

} // namespace backstop::state
