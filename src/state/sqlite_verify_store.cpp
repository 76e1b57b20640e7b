// sqlite_verify_store: verification answers in the table `verify`.
#include "state/sqlite_stores.hpp"

namespace backstop::state {

const char* const sqlite_verify_schema = R"sql(
CREATE TABLE IF NOT EXISTS verify (
  address    TEXT PRIMARY KEY,
  result     INTEGER NOT NULL,
  reply      TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS verify_expires ON verify(expires_at);
)sql";

namespace {

VerifyEntry read_entry(const Statement& s) {
  VerifyEntry e;
  e.address = s.text(0);
  e.result = s.integer(1) == 0 ? VerifyResult::Valid : VerifyResult::Invalid;
  e.reply = s.text(2);
  e.checked_at = s.integer(3);
  e.expires_at = s.integer(4);
  return e;
}

class SqliteVerifyStore final : public VerifyStore {
public:
  explicit SqliteVerifyStore(Database& db) : db_(db) {}

  Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(), "SELECT address, result, reply, checked_at, expires_at FROM verify "
                              "WHERE address = ?1 AND expires_at > ?2");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(address, now);
    const int rc = s.step();
    if (rc == SQLITE_ROW) {
      return std::optional<VerifyEntry>(read_entry(s));
    }
    if (rc == SQLITE_DONE) {
      return std::optional<VerifyEntry>();
    }
    return db_.failure("read");
  }

  Status put_verify(const VerifyEntry& e) override {
    auto written = db_.write("INSERT OR REPLACE INTO verify VALUES (?1, ?2, ?3, ?4, ?5)", e.address,
                             std::int64_t{e.result == VerifyResult::Valid ? 0 : 1}, e.reply,
                             e.checked_at, e.expires_at);
    if (!written) {
      return written.error();
    }
    return mail::Ok{};
  }

  Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(), "SELECT address, result, reply, checked_at, expires_at FROM verify "
                              "WHERE expires_at > ?1 ORDER BY address");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind(1, now);
    std::vector<VerifyEntry> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back(read_entry(s));
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

  Result<std::size_t> erase_verify(const std::string& pattern) override {
    if (pattern.empty()) {
      return db_.write("DELETE FROM verify");
    }
    if (pattern.front() == '@') {
      // The domain is the part after the last '@'; LIKE would treat '_' and '%' as wildcards.
      return db_.write("DELETE FROM verify WHERE substr(address, -length(?1)) = ?1", pattern);
    }
    return db_.write("DELETE FROM verify WHERE address = ?1", pattern);
  }

  Result<std::size_t> erase_expired(std::int64_t now) override {
    return db_.write("DELETE FROM verify WHERE expires_at <= ?1", now);
  }

private:
  Database& db_;
};

} // namespace

std::unique_ptr<VerifyStore> make_sqlite_verify_store(Database& db) {
  return std::make_unique<SqliteVerifyStore>(db);
}

} // namespace backstop::state
