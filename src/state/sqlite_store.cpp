// sqlite_store: the embedded state store. One connection (state/sqlite_database.hpp) shared
// by every concern's store; WAL so that the CLI can read and write while the server runs.
// synchronous=NORMAL: a power cut may forget the last answers, which only costs a repeated
// callout or one more greylisting delay; the queue, not this file, holds mail.
#include "state/fallback_store.hpp"
#include "state/redis_stores.hpp"
#include "state/sqlite_stores.hpp"
#include "state/store.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace backstop::state {

namespace {

constexpr int busy_timeout_ms = 5000;

// SQLite answers BUSY at once, without its busy handler, where waiting could deadlock: on a
// fresh file another opener is writing, our conversion to WAL reads the header and then
// needs the write lock. So the opening statements retry on their own, within the same budget.
Status exec_opening(Database& db, const char* sql, std::chrono::steady_clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    auto status = db.exec_locked(sql);
    const int code = sqlite3_errcode(db.handle()) & 0xff;
    if (status || (code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
        std::chrono::steady_clock::now() + pause > deadline) {
      return status;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

class SqliteStore final : public Store {
public:
  explicit SqliteStore(sqlite3* db)
      : db_(db), verify_(make_sqlite_verify_store(db_)), greylist_(make_sqlite_greylist_store(db_)),
        offenders_(make_sqlite_offender_store(db_)),
        primary_status_(make_sqlite_primary_status_store(db_)),
        contacts_(make_sqlite_contact_store(db_)) {}

  VerifyStore& verify() override { return *verify_; }
  GreylistStore& greylist() override { return *greylist_; }
  OffenderStore& offenders() override { return *offenders_; }
  PrimaryStatusStore& primary_status() override { return *primary_status_; }
  ContactStore& contacts() override { return *contacts_; }
  Database& database() { return db_; }

private:
  Database db_;
  std::unique_ptr<VerifyStore> verify_;
  std::unique_ptr<GreylistStore> greylist_;
  std::unique_ptr<OffenderStore> offenders_;
  std::unique_ptr<PrimaryStatusStore> primary_status_;
  std::unique_ptr<ContactStore> contacts_;
};

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
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  if (!options.read_only) {
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                            sqlite_verify_schema, sqlite_greylist_schema, sqlite_offender_schema,
                            sqlite_primary_status_schema, sqlite_contact_schema}) {
      if (auto status = exec_opening(store->database(), sql, deadline); !status) {
        return mail::make_error("state.path " + options.path.string() + ": " +
                                status.error().message);
      }
    }
  }
  return std::unique_ptr<Store>(std::move(store));
}

// Redis with the local file beside it for its outages (state/fallback_store.hpp).
mail::Result<std::unique_ptr<Store>> open_redis_with_fallback(const StoreOptions& options) {
  auto remote = open_redis(options);
  if (!remote) {
    return remote.error();
  }
  auto local = open_sqlite(options);
  if (!local) {
    return local.error();
  }
  return make_fallback_store(std::move(remote.value()), std::move(local.value()), options.fallback,
                             options.timeout);
}

} // namespace

mail::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  if (options.backend == "sqlite") {
    return open_sqlite(options);
  }
  if (options.backend == "redis" && options.fallback.enabled && !options.read_only) {
    return open_redis_with_fallback(options);
  }
  if (options.backend == "redis") {
    return open_redis(options);
  }
  return mail::make_error("state.backend \"" + options.backend + "\" is not available");
}

} // namespace backstop::state
