#include "metrics/histogram.hpp"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace backstop::metrics {
namespace {

TEST(Histogram, BucketsAreCumulativeWithInfinityLast) {
  Histogram h{1, 5, 10};
  for (double v : {0.5, 1.0, 3.0, 7.0, 12.0, 100.0}) {
    h.observe(v);
  }
  const auto s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 5, 10}));
  // le=1 holds 0.5 and 1 (a bound is inclusive), le=5 adds 3, le=10 adds 7, +Inf the rest.
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 123.5);
}

TEST(Histogram, EmptyHasZeroEverywhere) {
  Histogram h{0.1, 1};
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0, 0}));
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0);
}

TEST(Histogram, BoundsPastTheMaximumAreDropped) {
  Histogram h{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_EQ(h.snapshot().bounds.size(), Histogram::max_buckets);
  h.observe(17);
  EXPECT_EQ(h.snapshot().cumulative.back(), 1u);
  EXPECT_EQ(h.snapshot().cumulative[Histogram::max_buckets - 1], 0u);
}

TEST(Histogram, CountsFromManyThreadsWithoutLosingAny) {
  Histogram h{1, 2};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(i % 3); // 0, 1, 2
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative.back(), 40000u);
  EXPECT_EQ(s.cumulative[0], 4u * 6667); // i % 3 over 0..9999: 3334 zeros, 3333 ones
  EXPECT_DOUBLE_EQ(s.sum, 4.0 * (3333 * 1 + 3333 * 2));
}

} // namespace
} // namespace backstop::metrics
