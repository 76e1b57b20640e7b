// The tarpit's scheduler: a FIFO of due times, served by one timer per loop.
#include "trap/stutter_queue.hpp"

#include <gtest/gtest.h>
#include <vector>

namespace backstop::trap {
namespace {

using namespace std::chrono_literals;
using Clock = StutterQueue::Clock;

TEST(StutterQueue, ServesOnlyWhatIsDueInOrder) {
  StutterQueue q;
  const Clock::time_point t0{};
  q.push(1, t0 + 10ms);
  q.push(2, t0 + 20ms);
  q.push(3, t0 + 30ms);
  std::vector<std::uint32_t> served;
  auto visit = [&](std::uint32_t id) -> std::optional<Clock::time_point> {
    served.push_back(id);
    return std::nullopt;
  };
  EXPECT_EQ(q.run_due(t0 + 5ms, visit), 0u);
  EXPECT_EQ(q.run_due(t0 + 20ms, visit), 2u);
  EXPECT_EQ(served, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.next_due(), t0 + 30ms);
}

// One byte per turn: a connection put back during a run is never served twice in that run,
// even when it comes back due at once (a clock that did not move).
TEST(StutterQueue, EachConnectionAtMostOncePerRun) {
  StutterQueue q;
  const Clock::time_point t0{};
  for (std::uint32_t id = 0; id < 100; ++id) {
    q.push(id, t0);
  }
  std::vector<int> turns(100, 0);
  const auto served = q.run_due(t0 + 1s, [&](std::uint32_t id) {
    ++turns[id];
    return std::optional<Clock::time_point>(t0); // due again "now"
  });
  EXPECT_EQ(served, 100u);
  for (int n : turns) {
    EXPECT_EQ(n, 1);
  }
  EXPECT_EQ(q.size(), 100u);
}

// With a constant delay the FIFO stays sorted; an earlier due time is served in its turn,
// never before those already waiting.
TEST(StutterQueue, StaysOrderedByDueTime) {
  StutterQueue q;
  const Clock::time_point t0{};
  q.push(1, t0 + 1s);
  q.push(2, t0 + 500ms); // earlier than the back: waits behind 1
  EXPECT_EQ(q.next_due(), t0 + 1s);
  std::vector<std::uint32_t> served;
  q.run_due(t0 + 1s, [&](std::uint32_t id) {
    served.push_back(id);
    return std::optional<Clock::time_point>{};
  });
  EXPECT_EQ(served, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(q.empty());
}

TEST(StutterQueue, RequeuedConnectionsComeBackAfterTheirDelay) {
  StutterQueue q;
  const Clock::time_point t0{};
  q.push(7, t0);
  int turns = 0;
  auto visit = [&](std::uint32_t) {
    ++turns;
    return std::optional<Clock::time_point>(t0 + turns * 1s);
  };
  for (int second = 0; second < 5; ++second) {
    q.run_due(t0 + second * 1s, visit);
  }
  EXPECT_EQ(turns, 5); // one turn a second, as spamd's one byte a second
}

} // namespace
} // namespace backstop::trap

namespace backstop::trap {
namespace {

using namespace std::chrono_literals;

// spamd's pace while the byte budget lasts; beyond it the same budget spread over more
// connections: CPU follows bytes a second, not connections held.
TEST(StutterDelay, StretchesOnlyBeyondTheByteBudget) {
  EXPECT_EQ(stutter_delay(1000ms, 800, 2000), 1000ms);  // spamd's default maxcon: 1 byte/s
  EXPECT_EQ(stutter_delay(1000ms, 2000, 2000), 1000ms); // exactly the budget
  EXPECT_EQ(stutter_delay(1000ms, 9500, 2000), 4750ms); // 19,000 over two loops
  EXPECT_EQ(stutter_delay(1000ms, 9500, 0), 1000ms);    // no bound
  EXPECT_EQ(stutter_delay(100ms, 1, 2000), 100ms);
}

} // namespace
} // namespace backstop::trap
