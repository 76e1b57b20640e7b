// store: the state store, what backstop remembers apart from the queue, split by concern:
// recipient verification answers (VerifyStore), greylisting (GreylistStore) and offenders
// with the blacklist (OffenderStore) now; primary status later, each its own interface reached from
// here. One backend serves every concern: SQLite (embedded, default) and later Redis (shared by
// several backstop hosts). Calls block: the server runs them on the store's own thread
// through state/async_store.hpp; the CLI calls them directly. Every call may fail with a
// typed state::Error, never an exception.
#pragma once

#include "mail/result.hpp"
#include "state/greylist_store.hpp"
#include "state/offender_store.hpp"
#include "state/primary_status_store.hpp"
#include "state/verify_store.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace backstop::state {

class Store {
public:
  virtual ~Store() = default;
  virtual VerifyStore& verify() = 0;
  virtual GreylistStore& greylist() = 0;
  virtual OffenderStore& offenders() = 0;
  virtual PrimaryStatusStore& primary_status() = 0;
};

struct StoreOptions {
  std::string backend = "sqlite";
  std::filesystem::path path;
  bool read_only = false;
};

// A configuration error (unknown backend, a path that cannot be opened) for the operator.
mail::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

} // namespace backstop::state
