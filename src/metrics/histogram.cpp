// histogram: observation and the cumulative view Prometheus wants.
#include "metrics/histogram.hpp"

namespace backstop::metrics {

Histogram::Histogram(std::initializer_list<double> bounds) noexcept {
  for (double bound : bounds) {
    if (size_ == max_buckets) {
      break;
    }
    bounds_[size_++] = bound;
  }
}

void Histogram::observe(double value) noexcept {
  std::size_t bucket = 0;
  while (bucket < size_ && value > bounds_[bucket]) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot out;
  out.bounds.assign(bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(size_));
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= size_; ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.sum = sum_.load(std::memory_order_relaxed);
  out.count = running; // _count must equal the +Inf bucket: the buckets' total is both
  return out;
}

} // namespace backstop::metrics
