// Which hits are offenses, of which kind, and which count toward the blacklist.
#include "state/async_offender_store.hpp"
#include "state/store_thread.hpp"
#include "trap/recorder.hpp"

#include <gtest/gtest.h>

namespace backstop::trap {
namespace {

TrapListener listener(Kind kind) {
  TrapListener l;
  l.kind = kind;
  l.label = std::string(to_string(kind)) + " 127.0.0.9:25";
  return l;
}

Hit hit(bool named_ours) {
  Hit h;
  h.address = "192.0.2.7";
  h.recipient_domain = named_ours ? "example.test" : "poisoner.example";
  h.named_ours = named_ours;
  h.detail = "deferred at RCPT";
  return h;
}

TEST(TrapRecorder, DeferHitCountsOnlyWhenRcptNamedOurDomain) {
  const TrapServices services;
  const auto l = listener(Kind::Defer);
  const Recorder r(l, services);
  const auto ours = r.offense(hit(true), 1000);
  ASSERT_TRUE(ours);
  EXPECT_EQ(ours->kind, state::OffenseKind::TrapHit);
  EXPECT_EQ(ours->listener, "defer 127.0.0.9:25");
  EXPECT_TRUE(ours->counts);
  const auto foreign = r.offense(hit(false), 1000);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(foreign->counts); // kept as evidence only
}

TEST(TrapRecorder, RefuseCountsOnlyByItsRule) {
  const TrapServices services;
  auto l = listener(Kind::Refuse);
  Hit h;
  h.address = "192.0.2.7";
  EXPECT_FALSE(Recorder(l, services).offense(h, 1000)->counts);
  l.count_hits = true;
  EXPECT_TRUE(Recorder(l, services).offense(h, 1000)->counts);
}

TEST(TrapRecorder, StaleAfterTheGraceOnly) {
  const TrapServices services;
  auto l = listener(Kind::Defer);
  l.stale_since = "1970-01-01";
  l.stale_after = 2000;
  const Recorder r(l, services);
  EXPECT_EQ(r.offense(hit(true), 1999)->kind, state::OffenseKind::TrapHit);
  const auto stale = r.offense(hit(true), 2000);
  EXPECT_EQ(stale->kind, state::OffenseKind::StaleMx);
  EXPECT_NE(stale->detail.find("withdrawn on 1970-01-01"), std::string::npos);
}

TEST(TrapRecorder, AnSmtpListenerIsNoOffenseUntilStale) {
  const TrapServices services;
  auto l = listener(Kind::Smtp);
  l.stale_after = 2000;
  const Recorder r(l, services);
  Hit h;
  h.address = "192.0.2.7";
  EXPECT_FALSE(r.offense(h, 1999));
  const auto stale = r.offense(h, 2001);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->kind, state::OffenseKind::StaleMx);
  EXPECT_FALSE(stale->counts); // no RCPT seen: only count_hits counts
}

} // namespace
} // namespace backstop::trap

namespace backstop::trap {
namespace {

// Remembers what it is asked to record; everything else is unused by a trap.
class RememberingStore final : public state::OffenderStore {
public:
  std::vector<state::Offense> recorded;
  state::Result<state::RecordOutcome> record(const state::Offense& o,
                                             const state::BlacklistRules&) override {
    recorded.push_back(o);
    return state::RecordOutcome{};
  }
  state::Result<std::optional<state::Listing>> listing(const std::string&, std::int64_t) override {
    return std::optional<state::Listing>{};
  }
  state::Status list(const state::Listing&) override { return mail::Ok{}; }
  state::Result<bool> unlist(const std::string&) override { return false; }
  state::Result<std::vector<state::Listing>> listings(std::int64_t) override {
    return std::vector<state::Listing>{};
  }
  state::Result<std::vector<state::Offense>> offenses(const std::string&, std::int64_t,
                                                      std::size_t) override {
    return recorded;
  }
  state::Result<state::RetryHistory> record_retry(const state::Triplet&, std::int64_t,
                                                  std::int64_t) override {
    return state::RetryHistory{};
  }
  state::Result<std::size_t> erase_expired(std::int64_t, const state::BlacklistRules&) override {
    return std::size_t{0};
  }
};

TEST(TrapRecorder, PostsTheOffenseToTheStoreAndCountsIt) {
  RememberingStore store;
  state::testing::StoreThread thread;
  state::AsyncOffenderStore offenders(store, thread.executor());
  metrics::Counters counters;
  mail::ManualClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(5000)));
  TrapServices services;
  services.offenders = &offenders;
  services.counters = &counters;
  services.clock = &clock;
  const auto l = listener(Kind::Tarpit);
  Recorder(l, services).record(hit(true));
  thread.drain();
  ASSERT_EQ(store.recorded.size(), 1u);
  EXPECT_EQ(store.recorded[0].at, 5000);
  EXPECT_EQ(store.recorded[0].address, "192.0.2.7");
  EXPECT_EQ(store.recorded[0].listener, "tarpit 127.0.0.9:25");
  EXPECT_EQ(store.recorded[0].recipient_domain, "example.test");
  EXPECT_TRUE(store.recorded[0].counts);
  EXPECT_EQ(counters.value(metrics::Counter::TrapHits), 1u);
  EXPECT_EQ(counters.value(metrics::Counter::TrapHitsCounting), 1u);
}

} // namespace
} // namespace backstop::trap
