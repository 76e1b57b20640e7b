// sqlite_primary_status_store: the monitor's hosts in `primary_status`, their changes in
// `primary_history`.
#include "state/sqlite_stores.hpp"

namespace backstop::state {

const char* const sqlite_primary_status_schema = R"sql(
CREATE TABLE IF NOT EXISTS primary_status (
  domain TEXT NOT NULL,
  host   TEXT NOT NULL,
  state  TEXT NOT NULL,
  since  INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (domain, host)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS primary_history (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  domain   TEXT NOT NULL,
  host     TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  at       INTEGER NOT NULL,
  reason   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS primary_history_at ON primary_history(at);
)sql";

namespace {

class SqlitePrimaryStatusStore final : public PrimaryStatusStore {
public:
  explicit SqlitePrimaryStatusStore(Database& db) : db_(db) {}

  Status record_change(const PrimaryStatusChange& c, std::int64_t keep_seconds) override {
    std::lock_guard lock(db_.mutex());
    auto done = db_.transaction([&]() -> Result<std::size_t> {
      auto current = db_.write_locked("INSERT OR REPLACE INTO primary_status VALUES "
                                      "(?1, ?2, ?3, ?4, ?5)",
                                      c.domain, c.host, c.to, c.at, c.reason);
      if (!current) {
        return current;
      }
      auto appended = db_.write_locked("INSERT INTO primary_history (domain, host, from_state, "
                                       "to_state, at, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                       c.domain, c.host, c.from, c.to, c.at, c.reason);
      if (!appended) {
        return appended;
      }
      return db_.write_locked("DELETE FROM primary_history WHERE at < ?1", c.at - keep_seconds);
    });
    if (!done) {
      return done.error();
    }
    return mail::Ok{};
  }

  Result<std::vector<PrimaryHostStatus>> current() override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(), "SELECT domain, host, state, since, reason FROM primary_status "
                              "ORDER BY domain, host");
    if (!s.ok()) {
      return db_.failure("read");
    }
    std::vector<PrimaryHostStatus> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3), s.text(4)});
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

  Result<std::vector<PrimaryStatusChange>> history(const std::string& domain, std::int64_t since,
                                                   std::size_t limit) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(), "SELECT domain, host, from_state, to_state, at, reason "
                              "FROM primary_history WHERE at >= ?1 AND (?2 = '' OR domain = ?2) "
                              "ORDER BY id LIMIT ?3");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(since, domain, static_cast<std::int64_t>(limit));
    std::vector<PrimaryStatusChange> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4), s.text(5)});
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

private:
  Database& db_;
};

} // namespace

std::unique_ptr<PrimaryStatusStore> make_sqlite_primary_status_store(Database& db) {
  return std::make_unique<SqlitePrimaryStatusStore>(db);
}

} // namespace backstop::state
