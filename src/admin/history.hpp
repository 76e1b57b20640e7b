// history: what the status page draws over time. The server samples every
// [admin] sample_interval: the queue's depth, messages accepted and refusals by check since
// the sample before. Bounded: the newest `capacity` samples (a day at one a minute). Any
// thread may add or read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backstop::admin {

struct Sample {
  std::int64_t at = 0; // unix seconds
  std::uint64_t queued = 0;
  std::uint64_t accepted = 0;                   // since the sample before
  std::map<std::string, std::uint64_t> refused; // by check, since the sample before
};

class History {
public:
  explicit History(std::size_t capacity = 1440) : capacity_(capacity) {}
  // totals: messages accepted and refusals keyed "STAGE decision check" since start; the
  // sample keeps what changed since the previous call.
  void add(std::int64_t at, std::uint64_t queued, std::uint64_t accepted_total,
           const std::map<std::string, std::uint64_t>& refusal_totals);
  std::vector<Sample> samples() const;
  nlohmann::json to_json() const;

private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Sample> samples_;
  std::uint64_t accepted_before_ = 0;
  std::map<std::string, std::uint64_t> refused_before_;
};

} // namespace backstop::admin
