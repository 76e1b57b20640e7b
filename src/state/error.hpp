// error: how a state store call failed, as a kind the caller can act on (a timeout or an
// unreachable store is "cannot tell"; corrupt data wants an administrator) and a message
// for the log. The same kinds for every backend: SQLite now, Redis later.
#pragma once

#include "mail/result.hpp"

#include <string>

namespace backstop::state {

enum class ErrorKind {
  Unavailable, // cannot be reached or is locked/busy (a Redis connection down, SQLITE_BUSY)
  Timeout,     // no answer within the operation's deadline
  Corrupt,     // the stored data cannot be read (SQLITE_CORRUPT, a malformed Redis value)
  ReadOnly,    // opened read-only, or the file/server refuses writes
  Internal,    // anything else: a bug, a statement that does not prepare
};

inline const char* to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::Unavailable:
    return "unavailable";
  case ErrorKind::Timeout:
    return "timeout";
  case ErrorKind::Corrupt:
    return "corrupt";
  case ErrorKind::ReadOnly:
    return "read-only";
  case ErrorKind::Internal:
    break;
  }
  return "internal";
}

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;

  // For callers that only report (startup, the CLI): the words, with the kind in them.
  operator mail::Error() const { // NOLINT(google-explicit-constructor)
    return mail::Error{message};
  }
};

template <typename T> using Result = mail::Result<T, Error>;
using Status = Result<mail::Ok>;

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

} // namespace backstop::state
