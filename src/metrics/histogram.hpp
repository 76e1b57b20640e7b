// histogram: a distribution counted from any thread without a lock, for Prometheus
// (_bucket{le=...}, _sum, _count). The bucket bounds are fixed at construction; observe() is a
// scan of at most max_buckets bounds and two relaxed atomic additions, so it may sit on a hot
// path (a DNS query, a group commit). Every number stands alone: a scrape that races an
// observation may see its bucket before its sum, which Prometheus tolerates.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace backstop::metrics {

struct HistogramSnapshot {
  std::vector<double> bounds;            // upper bounds, ascending (+Inf not included)
  std::vector<std::uint64_t> cumulative; // per bound: observations <= it; then +Inf
  double sum = 0;
  std::uint64_t count = 0;
};

class Histogram {
public:
  static constexpr std::size_t max_buckets = 16;

  // Ascending upper bounds; those past max_buckets are dropped.
  Histogram(std::initializer_list<double> bounds) noexcept;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double value) noexcept;
  HistogramSnapshot snapshot() const;

private:
  std::array<double, max_buckets> bounds_{};
  std::size_t size_ = 0;
  std::array<std::atomic<std::uint64_t>, max_buckets + 1> buckets_{}; // the last one: +Inf
  std::atomic<double> sum_{0};
};

} // namespace backstop::metrics
