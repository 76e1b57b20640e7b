// spf_results: one SPF evaluation per transaction. MAIL starts it (prefetch), every RCPT of
// the transaction awaits the same answer, so ten recipients cost one evaluation. Keyed by
// session, client, HELO and sender: a new MAIL with another sender is a new evaluation.
// A flight is used only on its session's loop; the maps themselves are shared under a mutex.
// A finished answer other than temperror is also kept, without the session, for
// share_answers_for: the next sessions of the same client, HELO and sender (most mail comes
// from senders that came before) get it without an evaluation. DNS changes therefore take
// effect up to that much later than the records' TTLs say.
#pragma once

#include "spf/evaluator.hpp"
#include "spf/identity.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace backstop::checks {

struct SpfQuestion {
  std::string session_id;
  asio::ip::address client;
  std::string helo;
  std::string mail_from; // local@domain, "" for the null sender
};

struct SpfAnswer {
  spf::IdentityQuery identity;
  spf::Outcome outcome;
};

class SpfResults : public std::enable_shared_from_this<SpfResults> {
public:
  // Transactions long done make up most entries under load (5,000 a second): past
  // max_entries the oldest go first, whatever their age.
  SpfResults(dns::Resolver& resolver, spf::EvaluatorOptions options,
             std::size_t max_entries = 50000,
             std::chrono::steady_clock::duration share_answers_for = std::chrono::minutes(1));

  // Starts the evaluation on executor unless it is known or on its way; the result when it
  // is known already.
  std::optional<spf::Result> start(const SpfQuestion& question, asio::any_io_executor executor);
  // The answer, evaluating now if nothing started it.
  asio::awaitable<SpfAnswer> answer(SpfQuestion question, asio::any_io_executor executor);

  std::size_t evaluations() const { return evaluations_; }
  std::size_t remembered(); // transactions and shared answers

  struct Flight {
    explicit Flight(asio::any_io_executor ex) : landed(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer landed;
    std::optional<SpfAnswer> answer;
  };

private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::shared_ptr<Flight> flight;
    Clock::time_point created;
  };
  struct Shared {
    SpfAnswer answer;
    Clock::time_point created;
  };
  // Entries in the order they were made, so that the expired ones are at the front.
  using Ages = std::deque<std::pair<Clock::time_point, std::string>>;
  // The flight for question, and whether this call created it (then it must be flown).
  std::pair<std::shared_ptr<Flight>, bool> flight_for(const SpfQuestion& question,
                                                      asio::any_io_executor executor);
  static asio::awaitable<void> fly(std::shared_ptr<SpfResults> self, std::shared_ptr<Flight> flight,
                                   SpfQuestion question);
  // The shared answer for question's client, HELO and sender, if one is fresh.
  std::optional<SpfAnswer> shared_answer(const std::string& shared_key, Clock::time_point now);
  void share(const SpfQuestion& question, const SpfAnswer& answer);
  template <typename Map>
  void sweep(Map& map, Ages& ages, Clock::duration lifetime, Clock::time_point now);

  spf::Evaluator evaluator_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  Ages by_age_;
  std::unordered_map<std::string, Shared> shared_;
  Ages shared_by_age_;
  std::atomic<std::size_t> evaluations_{0};
  std::size_t max_entries_;
  Clock::duration share_answers_for_;
};

} // namespace backstop::checks
