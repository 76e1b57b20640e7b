// sender_callout: answers policy's SenderProber with a real SMTP conversation with one of
// the MX hosts of the address's domain (a sender callout, callback verification):
// EHLO, MAIL FROM:<>, RCPT TO:<address>, RSET, QUIT. The MX hosts come from the Router
// (MX selection, the implicit MX without MX records); special-use names, address literals,
// the null sender and domains we back up are never asked. Every wait has a deadline: the
// connect, the banner, each reply, and the whole callout (DNS included); an asker never
// waits beyond the whole deadline. Per target domain a rate limiter caps callouts per
// minute and at once; over it the answer is "cannot tell" and the MX is not contacted.
// A connection is used for one callout and closed (no pooling: a third party owes us
// nothing). Runs on the delivery loop; probe() may be awaited from any loop.
#pragma once

#include "delivery/callout_rate_limiter.hpp"
#include "delivery/router.hpp"
#include "delivery/smtp_client.hpp"
#include "mail/clock.hpp"
#include "policy/sender_prober.hpp"

#include <asio.hpp>
#include <atomic>
#include <mutex>
#include <set>
#include <spdlog/logger.h>
#include <string>

namespace backstop::delivery {

struct SenderCalloutOptions {
  std::string helo_name;
  asio::ssl::context* tls_context = nullptr;       // STARTTLS when offered; null: plaintext only
  std::vector<asio::ip::address> source_addresses; // [delivery] source_address
};

class SenderCallout final : public policy::SenderProber {
public:
  SenderCallout(asio::io_context& loop, Router& router, const mail::Clock& clock,
                SenderCalloutOptions options, std::set<std::string> backed_up_domains,
                std::shared_ptr<spdlog::logger> log);

  asio::awaitable<policy::SenderProbeAnswer> probe(mail::Address address,
                                                   policy::SenderProbeLimits limits) override;
  // After a reload: sessions on any loop may be asking meanwhile.
  void set_backed_up_domains(std::set<std::string> domains);
  // Connections opened so far (for logs and tests).
  std::size_t connections_opened() const { return opened_.load(); }

private:
  using Clock = std::chrono::steady_clock;
  struct Flight; // one callout's shared state: the answer and whoever waits for it

  asio::awaitable<policy::SenderProbeAnswer> probe_here(mail::Address address,
                                                        policy::SenderProbeLimits limits);
  asio::awaitable<void> fly(std::shared_ptr<Flight> flight, mail::Address address,
                            policy::SenderProbeLimits limits, Clock::time_point deadline);
  asio::awaitable<policy::SenderProbeAnswer> ask_mx(const mail::Address& address,
                                                    const policy::SenderProbeLimits& limits,
                                                    Clock::time_point deadline);
  asio::awaitable<std::optional<policy::SenderProbeAnswer>>
  ask_hop(const Hop& hop, const mail::Address& address, const policy::SenderProbeLimits& limits,
          Clock::time_point deadline, std::string& why, bool& reached);
  static asio::awaitable<void> close(std::unique_ptr<SmtpClient> client);
  bool backed_up(const std::string& domain) const;

  asio::io_context& loop_;
  Router& router_;
  SenderCalloutOptions options_;
  CalloutRateLimiter limiter_; // on the delivery loop only
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex domains_mutex_;
  std::set<std::string> backed_up_;
  std::atomic<std::size_t> opened_{0};
};

// What an SMTP probe outcome means for the sender: nullopt when this host cannot tell.
std::optional<policy::SenderProbeAnswer> sender_answer_of(const SmtpClient::ProbeOutcome& outcome);

} // namespace backstop::delivery
