// spf_results: in-flight sharing and a short memory of SPF answers per transaction.
#include "checks/spf_results.hpp"

#include "mail/ip_address.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace backstop::checks {

namespace {

// Long enough for a transaction's RCPT commands, short enough that a flood of sessions does
// not pile up answers; a RCPT after that evaluates again (same answer, one more cost).
constexpr auto remembered_for = std::chrono::minutes(2);

std::string shared_key_of(const SpfQuestion& q) {
  return mail::address_text(q.client) + '\n' + q.helo + '\n' + q.mail_from;
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
                       std::size_t max_entries, Clock::duration share_answers_for)
    : evaluator_(resolver, std::move(options)), max_entries_(max_entries),
      share_answers_for_(share_answers_for) {}

std::size_t SpfResults::remembered() {
  std::lock_guard lock(mutex_);
  return entries_.size() + shared_.size();
}

std::optional<SpfAnswer> SpfResults::shared_answer(const std::string& shared_key,
                                                   Clock::time_point now) {
  const auto found = shared_.find(shared_key);
  if (found == shared_.end() || now - found->second.created >= share_answers_for_) {
    return std::nullopt;
  }
  return found->second.answer;
}

void SpfResults::share(const SpfQuestion& question, const SpfAnswer& answer) {
  if (answer.outcome.result == spf::Result::TempError || share_answers_for_.count() <= 0) {
    return; // DNS trouble may be over for the next session
  }
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  auto key = shared_key_of(question);
  shared_[key] = Shared{answer, now};
  shared_by_age_.emplace_back(now, std::move(key));
  sweep(shared_, shared_by_age_, share_answers_for_, now);
}

std::pair<std::shared_ptr<SpfResults::Flight>, bool>
SpfResults::flight_for(const SpfQuestion& question, asio::any_io_executor executor) {
  const auto now = std::chrono::steady_clock::now();
  const std::string shared_key = shared_key_of(question);
  std::string key = question.session_id + '\n' + shared_key;
  std::lock_guard lock(mutex_);
  auto& entry = entries_[key];
  if (entry.flight && now - entry.created < remembered_for) {
    return {entry.flight, false};
  }
  entry = Entry{std::make_shared<Flight>(executor), now};
  auto flight = entry.flight;
  flight->answer = shared_answer(shared_key, now); // landed already: nothing to fly
  by_age_.emplace_back(now, std::move(key));
  sweep(entries_, by_age_, remembered_for, now);
  return {flight, !flight->answer};
}

// Entries are made in time order, so the expired ones are at the front of ages: each call
// removes only those, never walking the whole map.
template <typename Map>
void SpfResults::sweep(Map& map, Ages& ages, Clock::duration lifetime, Clock::time_point now) {
  while (!ages.empty() && (now - ages.front().first >= lifetime || ages.size() > max_entries_)) {
    const auto found = map.find(ages.front().second);
    if (found != map.end() && found->second.created == ages.front().first) {
      map.erase(found); // not when a newer entry of the key replaced it
    }
    ages.pop_front();
  }
}

std::optional<spf::Result> SpfResults::start(const SpfQuestion& question,
                                             asio::any_io_executor executor) {
  auto [flight, created] = flight_for(question, executor);
  if (created) {
    asio::co_spawn(executor, fly(shared_from_this(), flight, question), asio::detached);
  }
  if (flight->answer) {
    return flight->answer->outcome.result;
  }
  return std::nullopt;
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
  self->share(question, *landing.answer);
}

} // namespace backstop::checks
