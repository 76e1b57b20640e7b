// connection_limiter: counting connection slots.
#include "smtp/connection_limiter.hpp"

#include "mail/cidr.hpp"

namespace backstop::smtp {

Admission::Admission(Admission&& other) noexcept
    : limiter_(other.limiter_), ip_(std::move(other.ip_)), network_(std::move(other.network_)) {
  other.limiter_ = nullptr;
}

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) {
      limiter_->release(ip_, network_);
    }
    limiter_ = other.limiter_;
    ip_ = std::move(other.ip_);
    network_ = std::move(other.network_);
    other.limiter_ = nullptr;
  }
  return *this;
}

Admission::~Admission() {
  if (limiter_ != nullptr) {
    limiter_->release(ip_, network_);
  }
}

// "" when networks are not limited (or ip is not an address): nothing counted by network.
std::string ConnectionLimiter::network_of(const std::string& ip) const {
  if (network_.max_per_network == 0) {
    return {};
  }
  return mail::network_of(ip, static_cast<int>(network_.ipv4_prefix),
                          static_cast<int>(network_.ipv6_prefix));
}

AdmitResult ConnectionLimiter::admit(const std::string& ip, Admission& out) {
  std::string network = network_of(ip);
  {
    std::lock_guard lock(mutex_);
    if (total_ >= max_total_) {
      return AdmitResult::TooManyTotal;
    }
    const auto from_ip = per_ip_.find(ip);
    if (from_ip != per_ip_.end() && from_ip->second >= max_per_ip_) {
      return AdmitResult::TooManyFromIp;
    }
    const auto from_network = per_network_.find(network);
    if (!network.empty() && from_network != per_network_.end() &&
        from_network->second >= network_.max_per_network) {
      return AdmitResult::TooManyFromNetwork;
    }
    ++per_ip_[ip];
    if (!network.empty()) {
      ++per_network_[network];
    }
    ++total_;
  }
  // Outside the lock: replacing a held Admission releases its slot, which locks.
  out = Admission(this, ip, std::move(network));
  return AdmitResult::Admitted;
}

std::size_t ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionLimiter::release(const std::string& ip, const std::string& network) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) {
    per_ip_.erase(it);
  }
  auto net = per_network_.find(network);
  if (net != per_network_.end() && --net->second == 0) {
    per_network_.erase(net);
  }
}

} // namespace backstop::smtp
