// connection_limiter: decides whether one more connection may be served (overall, per
// client address and per client network). Shared by the acceptors of every event loop, hence the
// mutex; a slot is held by an Admission for the life of the session.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backstop::smtp {

class ConnectionLimiter;

class Admission {
public:
  Admission() = default;
  Admission(ConnectionLimiter* limiter, std::string ip, std::string network)
      : limiter_(limiter), ip_(std::move(ip)), network_(std::move(network)) {}
  Admission(Admission&& other) noexcept;
  Admission& operator=(Admission&& other) noexcept;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  ~Admission();

private:
  ConnectionLimiter* limiter_ = nullptr;
  std::string ip_;
  std::string network_; // "" when networks are not limited
};

enum class AdmitResult { Admitted, TooManyTotal, TooManyFromIp, TooManyFromNetwork };

// Concurrent sessions from one client network ("198.51.100.0/24"); 0 = no limit.
struct NetworkLimit {
  std::size_t max_per_network = 0;
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 64;
};

class ConnectionLimiter {
public:
  ConnectionLimiter(std::size_t max_total, std::size_t max_per_ip, NetworkLimit network = {})
      : max_total_(max_total), max_per_ip_(max_per_ip), network_(network) {}

  AdmitResult admit(const std::string& ip, Admission& out);
  std::size_t active() const;

private:
  friend class Admission;
  void release(const std::string& ip, const std::string& network);
  std::string network_of(const std::string& ip) const;

  std::size_t max_total_;
  std::size_t max_per_ip_;
  NetworkLimit network_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_network_;
};

} // namespace backstop::smtp
