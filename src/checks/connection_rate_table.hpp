// connection_rate_table: token buckets by key (a client address or network) with bounded
// memory. Each key may take `per_minute` connections in a burst, and gets them back at
// per_minute/60 a second. A bucket that has refilled says nothing new and is forgotten; past
// max_tracked keys the one seen longest ago is forgotten. Not synchronised: the check holds
// one mutex over its tables.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

namespace backstop::checks {

class RateTable {
public:
  using time_point = std::chrono::system_clock::time_point;
  RateTable(double per_minute, std::size_t max_tracked)
      : per_minute_(per_minute), max_tracked_(max_tracked) {}

  // Whether key has a connection left now (refilling it first); take() spends one.
  bool available(const std::string& key, time_point now);
  void take(const std::string& key);
  std::size_t tracked() const { return buckets_.size(); }

private:
  struct Bucket {
    double tokens = 0;
    time_point last;
    std::list<std::string>::iterator age; // its place in seen_
  };
  Bucket& touch(const std::string& key, time_point now);
  void forget_idle(time_point now);
  double refilled(const Bucket& b, time_point now) const;

  double per_minute_;
  std::size_t max_tracked_;
  std::list<std::string> seen_; // most recently seen first
  std::unordered_map<std::string, Bucket> buckets_;
};

} // namespace backstop::checks
