// store: the state store, what backstop remembers apart from the queue, split by concern:
// recipient verification answers (VerifyStore), greylisting (GreylistStore) and offenders
// with the blacklist (OffenderStore) now; primary status later, each its own interface reached from
// here. One backend serves every concern: SQLite (embedded, default) or Redis (shared by
// several backstop hosts, state/redis_stores.hpp). Calls block: the server runs them on the store's
// own thread through state/async_store.hpp; the CLI calls them directly. Every call may fail with a
// typed state::Error, never an exception.
#pragma once

#include "mail/result.hpp"
#include "state/contact_store.hpp"
#include "state/fallback_options.hpp"
#include "state/greylist_store.hpp"
#include "state/offender_store.hpp"
#include "state/primary_status_store.hpp"
#include "state/verify_store.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
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
  virtual ContactStore& contacts() = 0; // MX contacts per client (issue 14)
};

struct StoreOptions {
  std::string backend = "sqlite"; // "sqlite" or "redis"
  std::filesystem::path path;     // sqlite: the file
  bool read_only = false;         // sqlite: the CLI's reads
  // redis: where, as whom, under which key prefix, and each call's deadline.
  std::string url = "redis://127.0.0.1:6379/0";
  std::string password{}; // overrides one in the URL
  std::string key_prefix = "backstop:";
  std::chrono::milliseconds timeout{10};
  std::function<void(bool up, const std::string& why)> health{}; // each down/up transition
  std::function<void()> error{};                                 // each failed call
  FallbackOptions fallback{}; // redis: the local store at `path` answers while Redis fails
};

// A configuration error (unknown backend, a path that cannot be opened) for the operator.
mail::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

} // namespace backstop::state
