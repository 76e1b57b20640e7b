// result: errors as values at module boundaries. A Result<T> holds a T or an Error whose
// message names what went wrong in words an administrator can act on. A module whose
// callers must tell kinds of failure apart gives its own error type (state::Error).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace backstop::mail {

struct Error {
  std::string message;
};

template <typename T, typename E = Error> class Result {
public:
  Result(T value) : data_(std::move(value)) {} // NOLINT(google-explicit-constructor)
  Result(E error) : data_(std::move(error)) {} // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(data_); }
  const T& value() const { return std::get<T>(data_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const E& error() const { return std::get<E>(data_); }

private:
  std::variant<T, E> data_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string message) { return Error{std::move(message)}; }

} // namespace backstop::mail
