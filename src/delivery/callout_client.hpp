// callout_client: asks a domain's primary whether a recipient exists (recipient
// verification, the "callout"): EHLO, MAIL FROM:<sender>, RCPT TO, RSET, over connections
// that are kept open and reused, at most a few per primary, so a flood of RCPTs never
// becomes a flood of connections at the primary (no amplification). A primary that could
// not be reached, or did not answer in time, is skipped for primary_down_backoff, so while
// it is down or stalls callouts answer "cannot tell" at once instead of making every client
// wait for a timeout. A callout has one deadline (timeout) for all its steps, and sessions
// asking about the same address meanwhile wait no longer than it. A primary that refuses
// MAIL FROM:<> is counted and warned about: verification is off for it until a sender is set,
// unless a fallback sender is configured: then the callout is asked again at once with it, and
// that primary gets the fallback directly for null_sender_memory.
// Runs on the delivery loop; probe() may be awaited from any loop, and answers at once, on
// the asker's loop, for a domain whose every primary is backing off.
#pragma once

#include "delivery/router.hpp"
#include "delivery/smtp_client.hpp"
#include "metrics/counters.hpp"
#include "policy/primary_status.hpp"
#include "policy/recipient_prober.hpp"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::delivery {

struct CalloutOptions {
  mail::Address sender; // MAIL FROM of every callout; the null sender by default
  // With the null sender: MAIL FROM for a primary that refused <> (null: none, no retry).
  mail::Address fallback_sender;
  std::chrono::seconds null_sender_memory{3600}; // how long such a primary gets the fallback
  std::size_t max_connections_per_primary = 2;
  std::chrono::seconds idle_timeout{30}; // an unused connection is closed after this
  std::chrono::seconds down_backoff{60};
  std::chrono::seconds timeout{10}; // the whole callout: slot wait, connect, TLS, every reply
  ClientOptions client;             // helo name, TLS context
  // A connection is closed after this many refused RCPTs, before the primary starts to slow
  // it down or drops it (Postfix: smtpd_soft_error_limit 10, smtpd_hard_error_limit 20).
  std::size_t max_refusals_per_connection = 8;
  std::size_t max_probes_per_connection = 50; // each ends in RSET: smtpd_junk_command_limit 100
  std::map<std::string, TlsPolicy> domain_tls;
  metrics::Counters* counters = nullptr;
  // The one notion of "primary up" (monitor): told what connections saw, and asked whether
  // a domain backs off before hopping to the delivery loop. Null: neither.
  policy::PrimaryStatus* status = nullptr;
};

class CalloutClient final : public policy::RecipientProber {
public:
  CalloutClient(asio::io_context& loop, Router& router, CalloutOptions options,
                std::shared_ptr<spdlog::logger> log);
  ~CalloutClient() override;

  asio::awaitable<policy::ProbeAnswer> probe(mail::Address recipient) override;
  // Connections opened so far (for logs and tests).
  std::size_t connections_opened() const { return opened_.load(); }
  // After a reload: per-domain TLS rules for the next connections.
  void set_domain_tls(std::map<std::string, TlsPolicy> domain_tls);
  void stop();

  // A primary that refused MAIL FROM:<> (for `backstop verify`; read on the delivery loop).
  struct SenderRefusal {
    std::string host;
    std::string reply;    // the primary's MAIL reply
    std::string fallback; // the sender used instead; empty without [verify] fallback_sender
  };
  const std::vector<SenderRefusal>& null_sender_refusals() const { return refusals_; }

private:
  struct Pooled {
    std::unique_ptr<SmtpClient> client;
    std::chrono::steady_clock::time_point since; // idle since
    std::size_t refusals = 0;                    // 4xx/5xx RCPT answers on it
    std::size_t probes = 0;
  };
  struct Pool {
    std::deque<Pooled> idle;
    std::size_t busy = 0; // connections lent out or being opened
    std::list<asio::steady_timer*> waiting;
    std::chrono::steady_clock::time_point down_until{};
    std::chrono::steady_clock::time_point warned{};             // the last null-sender warning
    std::chrono::steady_clock::time_point refuses_null_until{}; // fallback sender until then
  };

  // One callout per address at a time: who asks while it runs gets the same answer.
  using Clock = std::chrono::steady_clock;
  struct InFlight {
    std::string key;
    Clock::time_point deadline;             // no asker waits beyond it
    std::list<asio::steady_timer*> waiters; // cancelled when the answer is there
    bool done = false;
    policy::ProbeAnswer answer;
  };

  asio::awaitable<policy::ProbeAnswer> probe_once(mail::Address recipient);
  asio::awaitable<void> fly(std::shared_ptr<InFlight> flight, mail::Address recipient);
  asio::awaitable<policy::ProbeAnswer> probe_here(mail::Address recipient,
                                                  Clock::time_point deadline);
  asio::awaitable<std::optional<policy::ProbeAnswer>> probe_hop(const Hop& hop,
                                                                const mail::Address& recipient,
                                                                Clock::time_point deadline,
                                                                std::string& why);
  asio::awaitable<SmtpClient::ProbeOutcome> ask(Pool& pool, const Hop& hop, SmtpClient& client,
                                                const mail::Address& recipient);
  static std::string null_sender_refusal(const SmtpClient::ProbeOutcome& outcome);
  void null_sender_refused(Pool& pool, const Hop& hop, const std::string& reply);
  void timed_out(Pool& pool, const std::string& domain, const Hop& hop, const std::string& why);
  asio::awaitable<bool> take_slot(Pool& pool, Clock::time_point deadline);
  void give_back(Pool& pool, Pooled connection);
  static asio::awaitable<void> close(std::unique_ptr<SmtpClient> client);
  asio::awaitable<std::unique_ptr<SmtpClient>> open(const Hop& hop, const std::string& domain,
                                                    Pool& pool, Clock::time_point deadline,
                                                    std::string& why);
  asio::awaitable<void> reap_idle();
  // After a "cannot tell": if every hop of the route is backing off, so is the domain.
  void note_if_all_down(const std::string& domain, const std::vector<Hop>& hops,
                        const std::string& why);

  asio::io_context& loop_;
  Router& router_;
  CalloutOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::string, Pool> pools_;                          // by endpoint
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_; // by address
  std::atomic<std::size_t> opened_{0};
  std::vector<SenderRefusal> refusals_; // one per primary
  asio::steady_timer reaper_;
  bool stopped_ = false;
};

} // namespace backstop::delivery
