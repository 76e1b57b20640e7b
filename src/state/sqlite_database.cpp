// sqlite_database: SQLite result codes as error kinds, plain statements.
#include "state/sqlite_database.hpp"

namespace backstop::state {

ErrorKind error_kind(int sqlite_code) {
  switch (sqlite_code & 0xff) { // the primary code; extended codes refine it
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_PROTOCOL:
    return ErrorKind::Unavailable;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_FORMAT:
  case SQLITE_SCHEMA:
    return ErrorKind::Corrupt;
  case SQLITE_READONLY:
  case SQLITE_PERM:
    return ErrorKind::ReadOnly;
  default:
    return ErrorKind::Internal;
  }
}

Error Database::failure(const char* what) const {
  return make_error(error_kind(sqlite3_extended_errcode(db_)),
                    std::string("state store ") + what + ": " + sqlite3_errmsg(db_));
}

Status Database::exec_locked(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return make_error(error_kind(rc), "state store: " + text);
  }
  return mail::Ok{};
}

} // namespace backstop::state
