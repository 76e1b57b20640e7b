// sqlite_store: the embedded state store. One connection behind a mutex; WAL so that the CLI
// can read and write while the server runs. synchronous=NORMAL: a power cut may forget the
// last answers, which only costs a repeated callout; the queue, not this file, holds mail.
#include "state/store.hpp"

#include <mutex>
#include <sqlite3.h>

namespace backstop::state {

namespace {

constexpr int busy_timeout_ms = 5000;

const char* const schema = R"sql(
CREATE TABLE IF NOT EXISTS verify (
  address    TEXT PRIMARY KEY,
  result     INTEGER NOT NULL,
  reply      TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS verify_expires ON verify(expires_at);
)sql";

// A prepared statement that resets itself, so each call starts clean.
class Statement {
public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  }
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }

private:
  sqlite3_stmt* stmt_ = nullptr;
};

VerifyEntry read_entry(const Statement& s) {
  VerifyEntry e;
  e.address = s.text(0);
  e.result = s.integer(1) == 0 ? VerifyResult::Valid : VerifyResult::Invalid;
  e.reply = s.text(2);
  e.checked_at = s.integer(3);
  e.expires_at = s.integer(4);
  return e;
}

class SqliteStore final : public Store {
public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close(db_); }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  mail::Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                      std::int64_t now) override {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT address, result, reply, checked_at, expires_at FROM verify "
                     "WHERE address = ?1 AND expires_at > ?2");
    if (!s.ok()) {
      return failure("read");
    }
    s.bind(1, address).bind(2, now);
    const int rc = s.step();
    if (rc == SQLITE_ROW) {
      return std::optional<VerifyEntry>(read_entry(s));
    }
    if (rc == SQLITE_DONE) {
      return std::optional<VerifyEntry>();
    }
    return failure("read");
  }

  mail::Status put_verify(const VerifyEntry& e) override {
    auto written = write("INSERT OR REPLACE INTO verify VALUES (?1, ?2, ?3, ?4, ?5)", e.address,
                         std::int64_t{e.result == VerifyResult::Valid ? 0 : 1}, e.reply,
                         e.checked_at, e.expires_at);
    if (!written) {
      return written.error();
    }
    return mail::Ok{};
  }

  mail::Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) override {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT address, result, reply, checked_at, expires_at FROM verify "
                     "WHERE expires_at > ?1 ORDER BY address");
    if (!s.ok()) {
      return failure("read");
    }
    s.bind(1, now);
    std::vector<VerifyEntry> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back(read_entry(s));
    }
    if (rc != SQLITE_DONE) {
      return failure("read");
    }
    return out;
  }

  mail::Result<std::size_t> erase_verify(const std::string& pattern) override {
    if (pattern.empty()) {
      return write("DELETE FROM verify");
    }
    if (pattern.front() == '@') {
      // The domain is the part after the last '@'; LIKE would treat '_' and '%' as wildcards.
      return write("DELETE FROM verify WHERE substr(address, -length(?1)) = ?1", pattern);
    }
    return write("DELETE FROM verify WHERE address = ?1", pattern);
  }

  mail::Result<std::size_t> erase_expired(std::int64_t now) override {
    return write("DELETE FROM verify WHERE expires_at <= ?1", now);
  }

private:
  // Runs one statement that changes rows, its parameters bound as ?1, ?2, ... in order;
  // returns how many rows it changed.
  template <typename... Args>
  mail::Result<std::size_t> write(const char* sql, const Args&... args) {
    std::lock_guard lock(mutex_);
    Statement s(db_, sql);
    if (!s.ok()) {
      return failure("write");
    }
    [[maybe_unused]] int index = 0;
    (s.bind(++index, args), ...);
    if (s.step() != SQLITE_DONE) {
      return failure("write");
    }
    return static_cast<std::size_t>(sqlite3_changes(db_));
  }

  mail::Error failure(const char* what) const {
    return mail::make_error(std::string("state store ") + what + ": " + sqlite3_errmsg(db_));
  }

  std::mutex mutex_;
  sqlite3* db_;
};

mail::Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return mail::make_error(text);
  }
  return mail::Ok{};
}

mail::Result<std::unique_ptr<Store>> open_sqlite(const StoreOptions& options) {
  std::error_code ec;
  if (!options.read_only && options.path.has_parent_path()) {
    std::filesystem::create_directories(options.path.parent_path(), ec);
  }
  sqlite3* db = nullptr;
  const int flags =
      options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return mail::make_error("state.path " + options.path.string() + ": " + text);
  }
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  if (!options.read_only) {
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", schema}) {
      if (auto status = exec(db, sql); !status) {
        return mail::make_error("state.path " + options.path.string() + ": " +
                                status.error().message);
      }
    }
  }
  return std::unique_ptr<Store>(std::move(store));
}

} // namespace

mail::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  if (options.backend == "sqlite") {
    return open_sqlite(options);
  }
  return mail::make_error("state.backend \"" + options.backend + "\" is not available");
}

} // namespace backstop::state
