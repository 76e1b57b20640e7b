// clock: injectable time. Everything that schedules (retries, TTLs, greylisting, timeouts
// stored on disk) asks a Clock, so tests move time instead of waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace backstop::mail {

class Clock {
public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  std::int64_t now_unix() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// A clock that only moves when told to; for tests. A test thread may move it while an
// event loop reads it.
class ManualClock final : public Clock {
public:
  using time_point = std::chrono::system_clock::time_point;
  explicit ManualClock(time_point start = {}) : ticks_(start.time_since_epoch().count()) {}
  time_point now() const override {
    return time_point(time_point::duration(ticks_.load(std::memory_order_acquire)));
  }
  void advance(std::chrono::system_clock::duration d) {
    ticks_.fetch_add(d.count(), std::memory_order_acq_rel);
  }
  void set(time_point t) { ticks_.store(t.time_since_epoch().count(), std::memory_order_release); }

private:
  std::atomic<time_point::duration::rep> ticks_;
};

} // namespace backstop::mail
