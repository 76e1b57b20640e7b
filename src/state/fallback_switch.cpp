// fallback_switch: the journal and the switches between Redis and the local store.
#include "state/fallback_switch.hpp"

namespace backstop::state {

FallbackSwitch::FallbackSwitch(Store& remote, Store& local, FallbackOptions options,
                               std::chrono::milliseconds replay_budget)
    : remote_(remote), local_(local), options_(std::move(options)), replay_budget_(replay_budget) {}

bool FallbackSwitch::local() const {
  std::lock_guard lock(mutex_);
  return answering_locally_;
}

std::size_t FallbackSwitch::journaled() const {
  std::lock_guard lock(mutex_);
  return journal_.size();
}

void FallbackSwitch::count(FallbackCount what, std::uint64_t n) const {
  if (options_.count && n != 0) {
    options_.count(what, n);
  }
}

void FallbackSwitch::fall_back_locked(const std::string& why) {
  count(FallbackCount::AnsweredLocally);
  if (answering_locally_) {
    return;
  }
  answering_locally_ = true;
  full_reported_ = false;
  replayed_ = 0;
  dropped_ = 0;
  if (options_.switched) {
    options_.switched(true, why);
  }
}

void FallbackSwitch::journal_locked(JournalEntry entry) {
  if (options_.journal_limit == 0) {
    ++dropped_;
    count(FallbackCount::Dropped);
    return;
  }
  if (journal_.size() >= options_.journal_limit) {
    journal_.pop_front(); // the newest knowledge is worth more than the oldest
    ++dropped_;
    count(FallbackCount::Dropped);
    if (!full_reported_ && options_.journal_full) {
      options_.journal_full(options_.journal_limit);
    }
    full_reported_ = true;
  }
  journal_.push_back(std::move(entry));
  count(FallbackCount::Journaled);
}

void FallbackSwitch::redis_answered_locked() {
  if (!answering_locally_) {
    return;
  }
  const auto until = std::chrono::steady_clock::now() + replay_budget_;
  std::uint64_t written = 0;
  while (!journal_.empty()) {
    auto status = journal_.front()(remote_);
    if (!status && outage(status.error())) {
      break; // gone again: the entry waits for the next answer
    }
    journal_.pop_front(); // written, or refused for good (corrupt data): not tried again
    if (status) {
      ++written;
    } else {
      ++dropped_;
      count(FallbackCount::Dropped);
    }
    if (std::chrono::steady_clock::now() >= until) {
      break;
    }
  }
  replayed_ += written;
  count(FallbackCount::Replayed, written);
  if (!journal_.empty()) {
    return;
  }
  answering_locally_ = false;
  if (options_.switched) {
    options_.switched(false, std::to_string(replayed_) +
                                 " writes learned locally written through, " +
                                 std::to_string(dropped_) + " dropped");
  }
}

} // namespace backstop::state
