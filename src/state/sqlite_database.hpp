// sqlite_database: the one SQLite connection that every SQLite-backed store shares, behind
// a mutex, with prepared statements that reset themselves, transactions, and SQLite's
// result codes turned into state::Error kinds.
#pragma once

#include "state/error.hpp"

#include <cstdint>
#include <mutex>
#include <sqlite3.h>
#include <string>

namespace backstop::state {

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
  Statement& bind(int i, std::uint64_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  // Binds args as ?1, ?2, ... in order.
  template <typename... Args> Statement& bind_all(const Args&... args) {
    [[maybe_unused]] int index = 0;
    (bind(++index, args), ...);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  // Ready to bind and step again (a statement run once per row of a batch).
  void reset() { sqlite3_reset(stmt_); }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  }
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }

private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
public:
  explicit Database(sqlite3* db) : db_(db) {}
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  std::mutex& mutex() { return mutex_; }

  // Runs one statement that changes rows; returns how many it changed. Takes the lock.
  template <typename... Args> Result<std::size_t> write(const char* sql, const Args&... args) {
    std::lock_guard lock(mutex_);
    return write_locked(sql, args...);
  }
  template <typename... Args>
  Result<std::size_t> write_locked(const char* sql, const Args&... args) {
    Statement s(db_, sql);
    if (!s.ok()) {
      return failure("write");
    }
    s.bind_all(args...);
    if (s.step() != SQLITE_DONE) {
      return failure("write");
    }
    return static_cast<std::size_t>(sqlite3_changes(db_));
  }

  // The last error of the connection, as a kind and the words "state store <what>: ...".
  Error failure(const char* what) const;
  // BEGIN IMMEDIATE ... COMMIT around fn (which returns a Result), ROLLBACK when fn or
  // the commit fails. The caller holds the lock.
  template <typename Fn> auto transaction(Fn&& fn) -> decltype(fn()) {
    if (auto begun = exec_locked("BEGIN IMMEDIATE"); !begun) {
      return begun.error();
    }
    auto result = fn();
    if (!result) {
      exec_locked("ROLLBACK");
      return result;
    }
    if (auto committed = exec_locked("COMMIT"); !committed) {
      exec_locked("ROLLBACK");
      return committed.error();
    }
    return result;
  }
  Status exec_locked(const char* sql);

private:
  std::mutex mutex_;
  sqlite3* db_;
};

ErrorKind error_kind(int sqlite_code);

} // namespace backstop::state
