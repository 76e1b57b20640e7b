// verify_cache: the remembered answers of primaries about recipients, with separate lifetimes
// for "exists" and "does not exist" (positive answers live long so that the cache can decide
// while the primary is down). A bounded in-memory map in front of the state store: hits cost
// no thread hop; misses ask the store on its own thread (with a deadline: a slow store is
// a miss), and a key the store did not have is remembered as absent for a minute, so the
// next lookups of it cost no hop either; writes go through to the store.
// Shared by every event loop (one mutex); the store may be shared by several hosts later.
#pragma once

#include "mail/address.hpp"
#include "mail/clock.hpp"
#include "state/verify_store.hpp"

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace backstop::policy {

struct VerifyCacheOptions {
  std::chrono::seconds positive_ttl{31 * 86400};
  std::chrono::seconds negative_ttl{3 * 3600};
  std::chrono::seconds positive_refresh{7 * 86400};
  std::size_t capacity = 100000;
  std::chrono::milliseconds store_deadline{1000}; // a store read that takes longer is a miss
  // How long "the store has nothing for this key" is believed without asking it again. Every
  // write of this process clears it at once; one of another host (a shared store) is seen
  // after this at the latest, and costs at most one callout meanwhile.
  std::chrono::seconds absent_memory{60};
};

std::string cache_key(const mail::Address& address);
// A flush pattern as an administrator types it ("@Example.ORG.", "User@Example.org") in the
// form keys are stored in: the domain normalised, the local part as it is.
std::string normalize_cache_pattern(const std::string& pattern);

class VerifyCache {
public:
  // store may be null (memory only). Store calls run on store_executor's thread.
  VerifyCache(state::VerifyStore* store, asio::any_io_executor store_executor,
              const mail::Clock& clock, VerifyCacheOptions options,
              std::shared_ptr<spdlog::logger> log);

  asio::awaitable<std::optional<state::VerifyEntry>> lookup(std::string key);
  void remember(const std::string& key, state::VerifyResult result, std::string reply);
  // Drops entries from memory (pattern as state::VerifyStore::erase_verify); the caller erases
  // them from the store, where it can wait for the answer.
  void forget(const std::string& pattern);

  // Removes expired answers from the store now and then every `every`, on the store's
  // thread, so that a dictionary attack's negative answers do not pile up on disk.
  void start_purging(std::chrono::seconds every);

  // A positive entry older than positive_refresh is re-checked while it still answers.
  bool due_for_refresh(const state::VerifyEntry& entry) const;
  // True for the one caller that should run the refresh of key; end_refresh when done.
  bool begin_refresh(const std::string& key);
  void end_refresh(const std::string& key);

private:
  static asio::awaitable<state::Result<std::optional<state::VerifyEntry>>>
  read_store(asio::any_io_executor store_executor, std::chrono::milliseconds deadline,
             state::VerifyStore* store, std::string key, std::int64_t now);
  static asio::awaitable<void> purge_loop(state::VerifyStore* store, const mail::Clock& clock,
                                          std::chrono::seconds every,
                                          std::shared_ptr<spdlog::logger> log);
  // A miss sets absent when the store was seen to lack key lately (one lock for both).
  std::optional<state::VerifyEntry> from_memory(const std::string& key, std::int64_t now,
                                                bool& absent);
  void keep(const state::VerifyEntry& entry);
  bool known_absent(const std::string& key, std::int64_t now); // mutex_ held
  void note_absent(const std::string& key, std::int64_t now);

  state::VerifyStore* store_;
  asio::any_io_executor store_executor_;
  const mail::Clock& clock_;
  VerifyCacheOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  std::unordered_map<std::string, state::VerifyEntry> memory_;
  std::unordered_set<std::string> refreshing_;
  std::unordered_map<std::string, std::int64_t> absent_; // key -> believed absent until
};

} // namespace backstop::policy
