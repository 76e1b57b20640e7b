// stutter_queue: when each tarpit connection is due for its next byte. Every connection
// waits the same delay after it was served, so a plain FIFO stays ordered by due time: no
// heap, no timer per connection. One timer per loop waits for the front and serves every
// entry due by then (plus a little slack, so that one wake serves many).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace backstop::trap {

// The delay before a connection's next byte: the configured stutter, stretched when this
// loop holds more connections than its byte budget a second serves at that pace (as spamd
// stops stuttering beyond maxblack, but still slow): the CPU a tarpit costs is bounded by
// bytes a second, not by connections held. budget 0: no bound.
inline std::chrono::nanoseconds stutter_delay(std::chrono::milliseconds stutter,
                                              std::size_t connections, double budget) {
  const std::chrono::nanoseconds configured = stutter;
  if (budget <= 0) {
    return configured;
  }
  const std::chrono::nanoseconds stretched(
      static_cast<std::int64_t>(static_cast<double>(connections) / budget * 1e9));
  return std::max(configured, stretched);
}

class StutterQueue {
public:
  using Clock = std::chrono::steady_clock;

  // due must not be earlier than the last entry's; an earlier one is served in its turn.
  void push(std::uint32_t id, Clock::time_point due) {
    if (!fifo_.empty() && due < fifo_.back().due) {
      due = fifo_.back().due;
    }
    fifo_.push_back({id, due});
  }
  bool empty() const { return fifo_.empty(); }
  std::size_t size() const { return fifo_.size(); }
  Clock::time_point next_due() const { return fifo_.front().due; }

  // Serves every entry due by until, in order, each at most once per call:
  // visit(id) returns when that connection is due again, or nullopt when it is done.
  // Returns how many were served.
  template <typename Visit> std::size_t run_due(Clock::time_point until, Visit&& visit) {
    const std::size_t present = fifo_.size();
    std::size_t served = 0;
    while (served < present && fifo_.front().due <= until) {
      const std::uint32_t id = fifo_.front().id;
      fifo_.pop_front();
      ++served;
      if (const std::optional<Clock::time_point> again = visit(id)) {
        push(id, *again);
      }
    }
    return served;
  }

private:
  struct Entry {
    std::uint32_t id;
    Clock::time_point due;
  };
  std::deque<Entry> fifo_;
};

} // namespace backstop::trap
