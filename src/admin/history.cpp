#include "admin/history.hpp"

namespace backstop::admin {

namespace {

// "RCPT reject relay_domains" -> "relay_domains"
std::string check_of(const std::string& key) {
  const auto last = key.rfind(' ');
  return last == std::string::npos ? key : key.substr(last + 1);
}

} // namespace

void History::add(std::int64_t at, std::uint64_t queued, std::uint64_t accepted_total,
                  const std::map<std::string, std::uint64_t>& refusal_totals) {
  Sample sample{at, queued, 0, {}};
  const std::lock_guard lock(mutex_);
  sample.accepted = accepted_total - std::min(accepted_total, accepted_before_);
  accepted_before_ = accepted_total;
  for (const auto& [key, total] : refusal_totals) {
    auto& before = refused_before_[key];
    if (total > before) {
      sample.refused[check_of(key)] += total - before;
    }
    before = total;
  }
  samples_.push_back(std::move(sample));
  while (samples_.size() > capacity_) {
    samples_.pop_front();
  }
}

std::vector<Sample> History::samples() const {
  const std::lock_guard lock(mutex_);
  return {samples_.begin(), samples_.end()};
}

nlohmann::json History::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : samples()) {
    out.push_back(
        {{"at", s.at}, {"queued", s.queued}, {"accepted", s.accepted}, {"refused", s.refused}});
  }
  return out;
}

} // namespace backstop::admin
