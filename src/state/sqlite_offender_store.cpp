// sqlite_offender_store: offenses, listings and persistence retries in three tables. Every
// operation is one IMMEDIATE transaction, so that an offense's count and the listing it
// causes see no other writer in between (the server's store thread or the CLI). Lifetimes
// are data: a listing's and a retry's end are stored in its row, an offense's age is
// compared with the rules passed in.
#include "state/sqlite_stores.hpp"

#include <algorithm>

namespace backstop::state {

const char* const sqlite_offender_schema = R"sql(
CREATE TABLE IF NOT EXISTS offender_offense (
  id               INTEGER PRIMARY KEY,
  address          TEXT NOT NULL,
  at               INTEGER NOT NULL,
  kind             TEXT NOT NULL,
  listener         TEXT NOT NULL,
  helo             TEXT NOT NULL,
  sender_domain    TEXT NOT NULL,
  recipient_domain TEXT NOT NULL,
  detail           TEXT NOT NULL,
  counts           INTEGER NOT NULL,
  ptr              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS offender_offense_address_at ON offender_offense(address, at);
CREATE INDEX IF NOT EXISTS offender_offense_at ON offender_offense(at);
CREATE TABLE IF NOT EXISTS offender_listing (
  address    TEXT PRIMARY KEY,
  listed_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  manual     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offender_retry (
  network    TEXT NOT NULL,
  sender     TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  attempts   INTEGER NOT NULL,
  first_at   INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (network, sender, recipient)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS offender_retry_expires ON offender_retry(expires_at);
)sql";

namespace {

Listing listing_from(const Statement& s) {
  return Listing{s.text(0), s.integer(1), s.integer(2), s.text(3), s.integer(4) != 0};
}

Offense offense_from(const Statement& s) {
  Offense o;
  o.address = s.text(0);
  o.at = s.integer(1);
  o.kind = offense_kind_from(s.text(2)).value_or(OffenseKind::PrimaryDeferral);
  o.listener = s.text(3);
  o.helo = s.text(4);
  o.sender_domain = s.text(5);
  o.recipient_domain = s.text(6);
  o.detail = s.text(7);
  o.counts = s.integer(8) != 0;
  o.ptr = s.text(9);
  return o;
}

bool expires_later(const Listing& listing, std::int64_t expires_at) {
  return listing.expires_at == 0 || listing.expires_at >= expires_at;
}

class SqliteOffenderStore final : public OffenderStore {
public:
  explicit SqliteOffenderStore(Database& db) : db_(db) {}

  Result<RecordOutcome> record(const Offense& offense, const BlacklistRules& rules) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() { return record_locked(offense, rules); });
  }

  Result<std::optional<Listing>> listing(const std::string& address, std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    return read_listing(address, now);
  }

  Status list(const Listing& listing) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() { return write_listing(listing); });
  }

  Result<bool> unlist(const std::string& address) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Result<bool> {
      auto erased = db_.write_locked("DELETE FROM offender_listing WHERE address = ?1", address);
      if (!erased) {
        return erased.error();
      }
      return erased.value() != 0;
    });
  }

  Result<std::vector<Listing>> listings(std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(), "SELECT address, listed_at, expires_at, reason, manual "
                              "FROM offender_listing WHERE expires_at = 0 OR expires_at > ?1 "
                              "ORDER BY address");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(now);
    std::vector<Listing> out;
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back(listing_from(s));
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

  Result<std::vector<Offense>> offenses(const std::string& address, std::int64_t since,
                                        std::size_t limit) override {
    std::lock_guard lock(db_.mutex());
    Statement s(
        db_.handle(),
        "SELECT address, at, kind, listener, helo, sender_domain, recipient_domain, "
        "detail, counts, ptr FROM offender_offense WHERE (?1 = '' OR address = ?1) AND at >= ?2 "
        "ORDER BY at DESC, id DESC LIMIT ?3");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(address, since, static_cast<std::uint64_t>(limit)); // SIZE_MAX: -1, no limit
    std::vector<Offense> out;
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back(offense_from(s));
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

  Result<RetryHistory> record_retry(const Triplet& triplet, std::int64_t now,
                                    std::int64_t forget_after) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() { return retry_locked(triplet, now, forget_after); });
  }

  Result<std::size_t> erase_expired(std::int64_t now, const BlacklistRules& rules) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Result<std::size_t> {
      std::size_t erased = 0;
      const std::pair<const char*, std::int64_t> purges[] = {
          {"DELETE FROM offender_listing WHERE expires_at != 0 AND expires_at <= ?1", now},
          {"DELETE FROM offender_offense WHERE at <= ?1", now - rules.keep_offenses},
          {"DELETE FROM offender_retry WHERE expires_at <= ?1", now},
      };
      for (const auto& [sql, bound] : purges) {
        auto done = db_.write_locked(sql, bound);
        if (!done) {
          return done.error();
        }
        erased += done.value();
      }
      return erased;
    });
  }

private:
  Result<RecordOutcome> record_locked(const Offense& o, const BlacklistRules& rules) {
    auto stored = db_.write_locked(
        "INSERT INTO offender_offense (address, at, kind, listener, helo, sender_domain, "
        "recipient_domain, detail, counts, ptr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        o.address, o.at, std::string(to_string(o.kind)), o.listener, o.helo, o.sender_domain,
        o.recipient_domain, o.detail, static_cast<std::int64_t>(o.counts ? 1 : 0), o.ptr);
    if (!stored) {
      return stored.error();
    }
    RecordOutcome out;
    auto counted = count_in_window(o.address, o.at - rules.window, o.at);
    if (!counted) {
      return counted.error();
    }
    out.counting_in_window = counted.value();
    auto existing = read_listing(o.address, o.at);
    if (!existing) {
      return existing.error();
    }
    out.listed = existing.value();
    if (rules.threshold == 0 || !o.counts || out.counting_in_window < rules.threshold) {
      return out;
    }
    const std::int64_t until = o.at + rules.listing;
    if (out.listed && expires_later(*out.listed, until)) {
      return out; // a longer listing (or a manual one without end) stays as it is
    }
    Listing listed{o.address, o.at, until,
                   std::to_string(out.counting_in_window) + " offenses within " +
                       seconds_in_words(rules.window),
                   false};
    if (out.listed) {
      listed.listed_at = out.listed->listed_at; // prolonged, not new
    } else {
      out.newly_listed = true;
    }
    if (auto written = write_listing(listed); !written) {
      return written.error();
    }
    out.listed = std::move(listed);
    return out;
  }

  // Counting offenses in (from, to]: an offense exactly one window old no longer counts.
  Result<std::uint64_t> count_in_window(const std::string& address, std::int64_t from,
                                        std::int64_t to) {
    Statement s(db_.handle(), "SELECT count(*) FROM offender_offense "
                              "WHERE address = ?1 AND counts = 1 AND at > ?2 AND at <= ?3");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(address, from, to);
    if (s.step() != SQLITE_ROW) {
      return db_.failure("read");
    }
    return static_cast<std::uint64_t>(s.integer(0));
  }

  Result<std::optional<Listing>> read_listing(const std::string& address, std::int64_t now) {
    Statement s(db_.handle(), "SELECT address, listed_at, expires_at, reason, manual "
                              "FROM offender_listing "
                              "WHERE address = ?1 AND (expires_at = 0 OR expires_at > ?2)");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(address, now);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return std::optional<Listing>();
    }
    if (rc != SQLITE_ROW) {
      return db_.failure("read");
    }
    return std::optional<Listing>(listing_from(s));
  }

  Status write_listing(const Listing& l) {
    auto written = db_.write_locked(
        "INSERT OR REPLACE INTO offender_listing VALUES (?1, ?2, ?3, ?4, ?5)", l.address,
        l.listed_at, l.expires_at, l.reason, static_cast<std::int64_t>(l.manual ? 1 : 0));
    if (!written) {
      return written.error();
    }
    return mail::Ok{};
  }

  Result<RetryHistory> retry_locked(const Triplet& t, std::int64_t now, std::int64_t forget_after) {
    Statement s(db_.handle(), "SELECT attempts, first_at FROM offender_retry WHERE network = ?1 "
                              "AND sender = ?2 AND recipient = ?3 AND expires_at > ?4");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(t.network, t.sender, t.recipient, now);
    const int rc = s.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    RetryHistory history{1, now};
    if (rc == SQLITE_ROW) {
      history = {static_cast<std::uint64_t>(s.integer(0)) + 1, s.integer(1)};
    }
    auto written = db_.write_locked(
        "INSERT OR REPLACE INTO offender_retry VALUES (?1, ?2, ?3, ?4, ?5, ?6)", t.network,
        t.sender, t.recipient, history.attempts, history.first_at, history.first_at + forget_after);
    if (!written) {
      return written.error();
    }
    return history;
  }

  Database& db_;
};

} // namespace

std::unique_ptr<OffenderStore> make_sqlite_offender_store(Database& db) {
  return std::make_unique<SqliteOffenderStore>(db);
}

} // namespace backstop::state
