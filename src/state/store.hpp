// store: the state store, what backstop remembers apart from the queue: recipient
// verification answers now; greylist triplets, offenders and primary status later. One
// interface, several backends: SQLite (embedded, default) and later Redis (shared by several
// backstop hosts). Calls block: callers run them on the store's own thread, never on an
// event loop. Every call may fail; a failure is an Error, never an exception.
#pragma once

#include "mail/result.hpp"
#include "state/verify_entry.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace backstop::state {

class Store {
public:
  virtual ~Store() = default;

  // An entry that has expired at now is not returned.
  virtual mail::Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                              std::int64_t now) = 0;
  virtual mail::Status put_verify(const VerifyEntry& entry) = 0;
  virtual mail::Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) = 0;
  // pattern: "" = everything, "@domain" = that domain, else one address. Returns the count.
  virtual mail::Result<std::size_t> erase_verify(const std::string& pattern) = 0;
  virtual mail::Result<std::size_t> erase_expired(std::int64_t now) = 0;
};

struct StoreOptions {
  std::string backend = "sqlite";
  std::filesystem::path path;
  bool read_only = false;
};

mail::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

} // namespace backstop::state
