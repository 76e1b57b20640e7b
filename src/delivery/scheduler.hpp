// scheduler: the queue runner. Keeps, per recipient domain, the messages waiting for it;
// runs one delivery round per domain at a time over a few reused connections; applies
// each recipient's outcome (delivered, retry later, failed) and makes it durable through
// the spool; queues bounces and delay notices. A destination that does not answer is
// tried once per retry interval for all its mail (never a connection per message), and
// when it answers again everything waiting for it goes.
//
// Runs on its own event loop. Calls from other threads (new messages from the committer,
// ETRN from sessions, admin requests) are posted onto that loop; the scheduler is the only
// writer of message state while the server runs.
#pragma once

#include "delivery/dsn_builder.hpp"
#include "delivery/notice_policy.hpp"
#include "delivery/retry_schedule.hpp"
#include "delivery/router.hpp"
#include "delivery/smtp_client.hpp"
#include "mail/clock.hpp"
#include "metrics/counters.hpp"
#include "policy/primary_status.hpp"
#include "queue/spool.hpp"

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::delivery {

struct SchedulerOptions {
  std::string hostname;
  RetryPolicy retry;
  BounceMode bounce = BounceMode::Always;
  std::size_t max_connections = 100; // outgoing, all destinations together
  std::size_t max_connections_per_destination = 10;
  std::size_t messages_per_connection = 1000; // then QUIT and reconnect
  std::chrono::milliseconds tick{1000};       // how often due times are checked
  // New messages are taken in at most this often: under load one wake-up of the delivery
  // loop carries many commit batches; a message after a quiet spell is taken in at once.
  std::chrono::milliseconds intake_interval{50};
  ClientOptions client;
  std::map<std::string, TlsPolicy> domain_tls; // per-domain tls = "required"
  metrics::Counters* counters = nullptr;
  // A recipient refused at delivery with 5.1.x (no such user): the verification cache must
  // stop calling it valid. Called on the delivery loop.
  std::function<void(const mail::Address&, const std::string& reply)> on_unknown_recipient;
  // The one notion of "primary up" (monitor): each connection to a hop is proof of life or
  // evidence of failure. Null: not told.
  policy::PrimaryStatus* status = nullptr;
};

class Scheduler {
public:
  Scheduler(asio::io_context& loop, queue::Spool& spool, Router& router, SchedulerOptions options,
            const mail::Clock& clock, std::shared_ptr<spdlog::logger> log);
  ~Scheduler();

  // Loads what the spool holds and starts the tick. Call once, from any thread.
  void start();
  void stop();

  // Thread-safe entry points.
  void on_committed(std::vector<queue::QueuedMessage> messages); // one commit batch
  // Starts delivery of everything waiting for domain ("" = all) without waiting for it.
  void request_flush(const std::string& domain);
  // The same for the admin side: waits for the loop and returns how many messages wait for
  // domain, or -1 when no mail for it is known.
  long flush(const std::string& domain);
  // Admin changes go through here so that the scheduler stays the only writer.
  nlohmann::json modify(const std::string& command, mail::QueueId id);
  std::size_t waiting(const std::string& domain) const;
  // After a reload: per-domain TLS rules for the next connections.
  void set_domain_tls(std::map<std::string, TlsPolicy> domain_tls);

private:
  struct Tracked {
    queue::QueuedMessage message;
    std::set<std::string> in_flight; // domains currently being delivered for it
  };
  struct DomainQueue {
    std::set<mail::QueueId> waiting;
    bool running = false;
    bool flush_all = false;
    std::int64_t down_until = 0;
    std::uint32_t failures = 0; // consecutive failed rounds (destination back-off)
    std::string last_error;
  };
  struct Round; // one delivery round for a domain (domain_round.cpp)

  void track(std::vector<queue::QueuedMessage> messages);
  void take_in(); // what on_committed collected (on the loop)
  void forget(mail::QueueId id);
  void poke(const std::string& domain);
  bool due(const Tracked& t, const std::string& domain, std::int64_t now) const;
  asio::awaitable<void> tick_loop();
  void publish_counts();
  long flush_now(const std::string& domain);
  void destination_failed(const std::string& domain, const std::vector<mail::QueueId>& ids,
                          const std::string& error);

  // domain_round.cpp
  asio::awaitable<void> run_domain(std::string domain);
  asio::awaitable<void> run_rounds(const std::string& domain);
  void delivery_crashed(Round& round, mail::QueueId id, const std::string& what);
  asio::awaitable<void> round_worker(std::shared_ptr<Round> round,
                                     std::unique_ptr<SmtpClient> client);
  asio::awaitable<std::unique_ptr<SmtpClient>> open_connection(Round& round);
  asio::awaitable<void> deliver_one(Round& round, SmtpClient& client, mail::QueueId id);

  // outcomes.cpp
  std::vector<std::size_t> pending_for(const Tracked& t, const std::string& domain) const;
  void apply(Tracked& t, const std::vector<std::size_t>& indices, const TransactionResult& result,
             const std::string& host);
  void defer(Tracked& t, const std::string& domain, const std::string& error,
             std::int64_t retry_at);
  void fail(Tracked& t, const std::string& domain, const std::string& error);
  void settle(Tracked& t); // persist, notices, removal when nothing is pending
  void queue_notice(const Tracked& t, DsnAction action, const std::vector<std::size_t>& which);

  asio::io_context& loop_;
  queue::Spool& spool_;
  Router& router_;
  SchedulerOptions options_;
  const mail::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  RetrySchedule schedule_;
  NoticePolicy notices_;
  std::size_t bounces_sent_ = 0;       // recipients, since start (logged)
  std::size_t bounces_suppressed_ = 0; // failed recipients that got no bounce
  std::map<mail::QueueId, Tracked> messages_;
  std::map<std::string, DomainQueue> domains_;
  std::size_t connections_ = 0;
  bool stopped_ = false;
  std::unique_ptr<asio::steady_timer> tick_timer_;

  std::mutex intake_mutex_; // guards the three below, written on the committer thread
  std::vector<queue::QueuedMessage> intake_;
  bool intake_scheduled_ = false;
  std::chrono::steady_clock::time_point last_intake_{};
  asio::steady_timer intake_timer_;

  mutable std::mutex counts_mutex_; // guards counts_, read by ETRN from session threads
  std::map<std::string, std::size_t> counts_;
};

} // namespace backstop::delivery
