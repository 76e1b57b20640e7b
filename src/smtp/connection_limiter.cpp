// connection_limiter: counting connection slots.
#include "smtp/connection_limiter.hpp"

namespace backstop::smtp {

Admission::Admission(Admission&& other) noexcept
    : limiter_(other.limiter_), ip_(std::move(other.ip_)) {
  other.limiter_ = nullptr;
}

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) {
      limiter_->release(ip_);
    }
    limiter_ = other.limiter_;
    ip_ = std::move(other.ip_);
    other.limiter_ = nullptr;
  }
  return *this;
}

Admission::~Admission() {
  if (limiter_ != nullptr) {
    limiter_->release(ip_);
  }
}

AdmitResult ConnectionLimiter::admit(const std::string& ip, Admission& out) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) {
    return AdmitResult::TooManyTotal;
  }
  auto& count = per_ip_[ip];
  if (count >= max_per_ip_) {
    if (count == 0) {
      per_ip_.erase(ip);
    }
    return AdmitResult::TooManyFromIp;
  }
  ++count;
  ++total_;
  out = Admission(this, ip);
  return AdmitResult::Admitted;
}

std::size_t ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) {
    per_ip_.erase(it);
  }
}

} // namespace backstop::smtp
