// spf_results: in-flight sharing and a short memory of SPF answers per transaction.
#include "checks/spf_results.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace backstop::checks {

namespace {

// Long enough for a transaction's RCPT commands, short enough that a flood of sessions does
// not pile up answers; a RCPT after that evaluates again (same answer, one more cost).
constexpr auto remembered_for = std::chrono::minutes(2);

std::string key_of(const SpfQuestion& q) {
  return q.session_id + '\n' + q.client.to_string() + '\n' + q.helo + '\n' + q.mail_from;
}

// Lands the flight when the evaluation ends, even by an exception (as a temperror), so that
// no RCPT waits forever.
struct Landing {
  std::shared_ptr<SpfResults::Flight> flight;
  std::optional<SpfAnswer> answer;
  ~Landing() {
    flight->answer = answer
                         ? std::move(*answer)
                         : SpfAnswer{{}, {spf::Result::TempError, {}, "SPF evaluation failed", {}}};
    flight->landed.cancel();
  }
};

} // namespace

SpfResults::SpfResults(dns::Resolver& resolver, spf::EvaluatorOptions options,
                       std::size_t max_entries)
    : evaluator_(resolver, std::move(options)), max_entries_(max_entries) {}

std::size_t SpfResults::remembered() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::pair<std::shared_ptr<SpfResults::Flight>, bool>
SpfResults::flight_for(const SpfQuestion& question, asio::any_io_executor executor) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto& entry = entries_[key_of(question)];
  if (entry.flight && now - entry.created < remembered_for) {
    return {entry.flight, false};
  }
  entry = Entry{std::make_shared<Flight>(executor), now};
  auto flight = entry.flight;
  by_age_.emplace_back(now, key_of(question));
  sweep(now);
  return {flight, true};
}

// Entries are made in time order, so the expired ones are at the front of by_age_: each call
// removes only those, never walking the whole map.
void SpfResults::sweep(std::chrono::steady_clock::time_point now) {
  while (!by_age_.empty() &&
         (now - by_age_.front().first >= remembered_for || by_age_.size() > max_entries_)) {
    const auto found = entries_.find(by_age_.front().second);
    if (found != entries_.end() && found->second.created == by_age_.front().first) {
      entries_.erase(found); // not when a newer evaluation of the key replaced it
    }
    by_age_.pop_front();
  }
}

void SpfResults::start(const SpfQuestion& question, asio::any_io_executor executor) {
  auto [flight, created] = flight_for(question, executor);
  if (created) {
    asio::co_spawn(executor, fly(shared_from_this(), flight, question), asio::detached);
  }
}

asio::awaitable<SpfAnswer> SpfResults::answer(SpfQuestion question,
                                              asio::any_io_executor executor) {
  auto [flight, created] = flight_for(question, executor);
  if (created) {
    co_await fly(shared_from_this(), flight, question);
  }
  if (!flight->answer) {
    co_await flight->landed.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return *flight->answer;
}

asio::awaitable<void> SpfResults::fly(std::shared_ptr<SpfResults> self,
                                      std::shared_ptr<Flight> flight, SpfQuestion question) {
  Landing landing{flight, std::nullopt};
  ++self->evaluations_;
  const auto identity = spf::mail_from_identity(question.mail_from, question.helo);
  auto outcome = co_await self->evaluator_.check_host(question.client, identity.domain,
                                                      identity.sender, question.helo);
  landing.answer = SpfAnswer{identity, std::move(outcome)};
}

} // namespace backstop::checks
