// connection_limiter: decides whether one more connection may be served (overall and per
// client address). Shared by the acceptors of every event loop, hence the mutex; a slot is
// held by an Admission for the life of the session.
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
  Admission(ConnectionLimiter* limiter, std::string ip) : limiter_(limiter), ip_(std::move(ip)) {}
  Admission(Admission&& other) noexcept;
  Admission& operator=(Admission&& other) noexcept;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  ~Admission();

private:
  ConnectionLimiter* limiter_ = nullptr;
  std::string ip_;
};

enum class AdmitResult { Admitted, TooManyTotal, TooManyFromIp };

class ConnectionLimiter {
public:
  ConnectionLimiter(std::size_t max_total, std::size_t max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  AdmitResult admit(const std::string& ip, Admission& out);
  std::size_t active() const;

private:
  friend class Admission;
  void release(const std::string& ip);

  std::size_t max_total_;
  std::size_t max_per_ip_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
};

} // namespace backstop::smtp
