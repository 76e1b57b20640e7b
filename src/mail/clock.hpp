// clock: injectable time. Everything that schedules (retries, TTLs, greylisting, timeouts
// stored on disk) asks a Clock, so tests move time instead of waiting.
#pragma once

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

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
public:
  explicit ManualClock(std::chrono::system_clock::time_point start = {}) : now_(start) {}
  std::chrono::system_clock::time_point now() const override { return now_; }
  void advance(std::chrono::system_clock::duration d) { now_ += d; }
  void set(std::chrono::system_clock::time_point t) { now_ = t; }

private:
  std::chrono::system_clock::time_point now_;
};

} // namespace backstop::mail
