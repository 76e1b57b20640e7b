// verify_cache: memory tier, store tier and their lifetimes.
#include "policy/verify_cache.hpp"

#include "state/async_store.hpp"

namespace backstop::policy {

std::string cache_key(const mail::Address& address) { return address.local + "@" + address.domain; }

std::string normalize_cache_pattern(const std::string& pattern) {
  const auto at = pattern.rfind('@');
  if (at == std::string::npos) {
    return pattern;
  }
  return pattern.substr(0, at + 1) + mail::normalize_domain(pattern.substr(at + 1));
}

VerifyCache::VerifyCache(state::VerifyStore* store, asio::any_io_executor store_executor,
                         const mail::Clock& clock, VerifyCacheOptions options,
                         std::shared_ptr<spdlog::logger> log)
    : store_(store), store_executor_(std::move(store_executor)), clock_(clock), options_(options),
      log_(std::move(log)) {}

std::optional<state::VerifyEntry> VerifyCache::from_memory(const std::string& key, std::int64_t now,
                                                           bool& absent) {
  std::lock_guard lock(mutex_);
  auto it = memory_.find(key);
  if (it == memory_.end()) {
    absent = known_absent(key, now);
    return std::nullopt;
  }
  if (it->second.expires_at <= now) {
    memory_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void VerifyCache::keep(const state::VerifyEntry& entry) {
  std::lock_guard lock(mutex_);
  if (memory_.size() >= options_.capacity && memory_.count(entry.address) == 0) {
    // Full: drop the expired, then an arbitrary half; the store still has them all.
    const auto now = clock_.now_unix();
    std::erase_if(memory_, [now](const auto& kv) { return kv.second.expires_at <= now; });
    for (auto it = memory_.begin(); memory_.size() >= options_.capacity / 2 + 1;) {
      it = memory_.erase(it);
    }
  }
  memory_[entry.address] = entry;
  absent_.erase(entry.address);
}

bool VerifyCache::known_absent(const std::string& key, std::int64_t now) {
  const auto found = absent_.find(key);
  if (found == absent_.end()) {
    return false;
  }
  if (found->second <= now) {
    absent_.erase(found);
    return false;
  }
  return true;
}

void VerifyCache::note_absent(const std::string& key, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (absent_.size() >= options_.capacity) {
    std::erase_if(absent_, [now](const auto& kv) { return kv.second <= now; });
    if (absent_.size() >= options_.capacity) {
      absent_.clear(); // a flood of distinct keys: forgetting only costs store reads
    }
  }
  absent_[key] = now + options_.absent_memory.count();
}

// Not a coroutine: the store call is built here, not as a temporary inside a co_await
// expression (GCC 12 destroys such a lambda's strings while the call still uses them).
asio::awaitable<state::Result<std::optional<state::VerifyEntry>>>
VerifyCache::read_store(asio::any_io_executor store_executor, std::chrono::milliseconds deadline,
                        state::VerifyStore* store, std::string key, std::int64_t now) {
  return state::run_on_store<std::optional<state::VerifyEntry>>(
      std::move(store_executor), deadline,
      [store, key = std::move(key), now] { return store->get_verify(key, now); });
}

asio::awaitable<std::optional<state::VerifyEntry>> VerifyCache::lookup(std::string key) {
  const auto now = clock_.now_unix();
  bool absent = false;
  if (auto hit = from_memory(key, now, absent)) {
    co_return hit;
  }
  if (store_ == nullptr || absent) {
    co_return std::nullopt;
  }
  auto stored = co_await read_store(store_executor_, options_.store_deadline, store_, key, now);
  if (!stored) {
    if (log_) {
      log_->warn("verify cache: {}", stored.error().message);
    }
    co_return std::nullopt; // a store that cannot answer is a miss, never a verdict
  }
  if (stored.value()) {
    keep(*stored.value());
  } else {
    note_absent(key, now);
  }
  co_return stored.value();
}

void VerifyCache::remember(const std::string& key, state::VerifyResult result, std::string reply) {
  state::VerifyEntry entry;
  entry.address = key;
  entry.result = result;
  entry.reply = std::move(reply);
  entry.checked_at = clock_.now_unix();
  const auto ttl =
      result == state::VerifyResult::Valid ? options_.positive_ttl : options_.negative_ttl;
  entry.expires_at = entry.checked_at + ttl.count();
  keep(entry);
  if (store_ == nullptr) {
    return;
  }
  asio::post(store_executor_, [store = store_, entry, log = log_] {
    if (auto status = store->put_verify(entry); !status && log) {
      log->warn("verify cache: {}", status.error().message);
    }
  });
}

void VerifyCache::forget(const std::string& pattern) {
  std::lock_guard lock(mutex_);
  if (pattern.empty()) {
    memory_.clear();
  } else if (pattern.front() == '@') {
    std::erase_if(memory_, [&pattern](const auto& kv) { return kv.first.ends_with(pattern); });
  } else {
    memory_.erase(pattern);
  }
}

void VerifyCache::start_purging(std::chrono::seconds every) {
  if (store_ != nullptr) {
    asio::co_spawn(store_executor_, purge_loop(store_, clock_, every, log_), asio::detached);
  }
}

asio::awaitable<void> VerifyCache::purge_loop(state::VerifyStore* store, const mail::Clock& clock,
                                              std::chrono::seconds every,
                                              std::shared_ptr<spdlog::logger> log) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto purged = store->erase_expired(clock.now_unix());
    if (!purged && log) {
      log->warn("verify cache: {}", purged.error().message);
    } else if (purged && purged.value() != 0 && log) {
      log->info("verify cache: {} expired answers purged", purged.value());
    }
    timer.expires_after(every);
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
  }
}

bool VerifyCache::due_for_refresh(const state::VerifyEntry& entry) const {
  return entry.result == state::VerifyResult::Valid &&
         clock_.now_unix() - entry.checked_at >= options_.positive_refresh.count();
}

bool VerifyCache::begin_refresh(const std::string& key) {
  std::lock_guard lock(mutex_);
  return refreshing_.insert(key).second;
}

void VerifyCache::end_refresh(const std::string& key) {
  std::lock_guard lock(mutex_);
  refreshing_.erase(key);
}

} // namespace backstop::policy
