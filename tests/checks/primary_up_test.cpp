// primary_up_test: the check through its registered factory, over a real PrimaryMonitor and
// a small in-memory offender store (the SQLite one is issue 14's other half), with a manual
// clock: defer while the primary is up, accept while it is down or unknown, the reject text,
// per-domain actions, the persistence pass after K deferrals over T, offenses recorded, and a
// failing store that defers (never a 5xx, never a pass).
#include "checks/fake_settings.hpp"
#include "monitor/primary_monitor.hpp"
#include "policy/check_registry.hpp"
#include "state/async_offender_store.hpp"
#include "state/store_thread.hpp"

#include <gtest/gtest.h>
#include <map>
#include <mutex>

namespace backstop::checks {
namespace {

using namespace std::chrono_literals;
using policy::Stage;

// Only what the check uses: record() and record_retry(); a switch to fail.
class MemoryOffenders final : public state::OffenderStore {
public:
  std::vector<state::Offense> offenses_seen() {
    std::lock_guard lock(mutex_);
    return offenses_;
  }
  void fail() { failing_ = true; }

  state::Result<state::RecordOutcome> record(const state::Offense& o,
                                             const state::BlacklistRules&) override {
    std::lock_guard lock(mutex_);
    offenses_.push_back(o);
    return state::RecordOutcome{};
  }
  state::Result<std::optional<state::Listing>> listing(const std::string&, std::int64_t) override {
    return std::optional<state::Listing>();
  }
  state::Status list(const state::Listing&) override { return mail::Ok{}; }
  state::Result<bool> unlist(const std::string&) override { return false; }
  state::Result<std::vector<state::Listing>> listings(std::int64_t) override {
    return std::vector<state::Listing>();
  }
  state::Result<std::vector<state::Offense>> offenses(const std::string&, std::int64_t,
                                                      std::size_t) override {
    return offenses_seen();
  }
  state::Result<state::RetryHistory> record_retry(const state::Triplet& t, std::int64_t now,
                                                  std::int64_t forget_after) override {
    if (failing_) {
      return state::make_error(state::ErrorKind::Unavailable, "database is locked");
    }
    std::lock_guard lock(mutex_);
    auto& h = retries_[t.network + " " + t.sender + " " + t.recipient];
    if (h.attempts == 0 || now - h.first_at > forget_after) {
      h = {0, now};
    }
    ++h.attempts;
    return h;
  }
  state::Result<std::size_t> erase_expired(std::int64_t, const state::BlacklistRules&) override {
    return std::size_t{0};
  }

private:
  std::mutex mutex_;
  std::vector<state::Offense> offenses_;
  std::map<std::string, state::RetryHistory> retries_;
  std::atomic<bool> failing_{false};
};

class PrimaryUpTest : public ::testing::Test {
protected:
  PrimaryUpTest() {
    monitor_.set_domains({{"example.test", {}}, {"other.test", {}}});
    monitor_.set_hosts("example.test", {"mx1.example.test"});
    settings_.set("min_retries", std::uint64_t{3});
    settings_.set("min_period", 1800s);
  }
  void make() {
    services_.primary_status = &monitor_;
    services_.offenders = &async_;
    services_.clock = &clock_;
    const auto* type = policy::find_check_type("primary_up");
    ASSERT_NE(type, nullptr) << "primary_up registers itself";
    check_ = type->make(settings_, &services_);
    ASSERT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    ASSERT_NE(check_, nullptr);
  }
  mail::Verdict rcpt(const std::string& ip = "192.0.2.10",
                     const mail::Address& recipient = {"user", "example.test"}) {
    policy::SessionContext context;
    context.session_id = "test";
    context.executor = loop_.get_executor();
    context.client.ip = ip;
    context.client.address = asio::ip::make_address(ip);
    context.client.listener = "127.0.0.1:25";
    context.helo = "client.example.net";
    context.sender = {"someone", "sender.test"};
    context.recipient = recipient;
    std::optional<mail::Verdict> out;
    asio::co_spawn(loop_, check_->check(Stage::Rcpt, context),
                   [&](std::exception_ptr e, mail::Verdict v) {
                     EXPECT_FALSE(e);
                     out = std::move(v);
                   });
    loop_.restart();
    loop_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(mail::Verdict{});
  }

  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + 1795392000s};
  monitor::PrimaryMonitor monitor_{{}, clock_};
  MemoryOffenders offenders_;
  asio::io_context loop_;
  state::testing::StoreThread store_thread_;
  state::AsyncOffenderStore async_{offenders_, store_thread_.executor()};
  backstop::test::FakeSettings settings_{"checks.primary_up"};
  policy::CheckServices services_;
  std::unique_ptr<policy::Check> check_;
};

TEST_F(PrimaryUpTest, DefersWhileThePrimaryIsUpNamingIt) {
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  const auto v = rcpt();
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 451);
  EXPECT_EQ(v.reply.enhanced, "4.7.0");
  EXPECT_EQ(v.reply.text, "try the primary MX first: mx1.example.test");
  EXPECT_EQ(v.check, "primary_up");
}

TEST_F(PrimaryUpTest, AcceptsWhileThePrimaryIsDownOrUnknown) {
  make();
  EXPECT_EQ(rcpt().decision, mail::Decision::Accept) << "not probed yet is not up";
  monitor_.failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(rcpt().decision, mail::Decision::Accept);
  store_thread_.drain();
  EXPECT_TRUE(offenders_.offenses_seen().empty()) << "no offense while the primary is down";
}

TEST_F(PrimaryUpTest, RejectModeSays551AsTheSeedProposalWrites) {
  settings_.set("action", "reject");
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  const auto v = rcpt();
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 551);
  EXPECT_EQ(v.reply.enhanced, "5.7.1");
  EXPECT_EQ(v.reply.text, "example.test Try the primary MX first while it is online; please "
                          "try mx1.example.test");
}

TEST_F(PrimaryUpTest, PerDomainActionOverridesTheSection) {
  settings_.table("domain", "other.test").set("action", "accept");
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  monitor_.alive("other.test", "mx1.example.test", "probe");
  EXPECT_EQ(rcpt().decision, mail::Decision::Defer);
  EXPECT_EQ(rcpt("192.0.2.10", {"user", "other.test"}).decision, mail::Decision::Accept);
}

TEST_F(PrimaryUpTest, EveryDeferralIsRecordedAsAnOffenseWithItsEvidence) {
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  rcpt("192.0.2.77");
  store_thread_.drain();
  const auto seen = offenders_.offenses_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, state::OffenseKind::PrimaryDeferral);
  EXPECT_EQ(seen[0].address, "192.0.2.77");
  EXPECT_EQ(seen[0].at, 1795392000);
  EXPECT_EQ(seen[0].listener, "smtp 127.0.0.1:25");
  EXPECT_EQ(seen[0].helo, "client.example.net");
  EXPECT_EQ(seen[0].sender_domain, "sender.test");
  EXPECT_EQ(seen[0].recipient_domain, "example.test");
}

TEST_F(PrimaryUpTest, PersistencePassAfterKDeferralsOverT) {
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rcpt().decision, mail::Decision::Defer) << "deferral " << i + 1;
    clock_.advance(5min);
  }
  // Three deferrals before, but only 15 minutes since the first: not yet.
  EXPECT_EQ(rcpt().decision, mail::Decision::Defer);
  clock_.advance(20min); // 35 minutes since the first, four deferrals before
  const auto v = rcpt();
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_NE(v.reason.find("primary unreachable for this sender"), std::string::npos) << v.reason;
  EXPECT_EQ(rcpt("192.0.3.10").decision, mail::Decision::Defer) << "another network starts anew";
}

TEST_F(PrimaryUpTest, ManyQuickRetriesAreNotPersistence) {
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(rcpt().decision, mail::Decision::Defer);
    clock_.advance(1min);
  }
}

TEST_F(PrimaryUpTest, AFailingStoreDefersNeverRejectsNorPasses) {
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  offenders_.fail();
  for (int i = 0; i < 5; ++i) {
    const auto v = rcpt();
    EXPECT_EQ(v.decision, mail::Decision::Defer);
    EXPECT_EQ(v.reply.code, 451);
    clock_.advance(1h);
  }
}

TEST_F(PrimaryUpTest, AcceptEverywhereIsNoCheckAtAll) {
  settings_.set("action", "accept");
  services_.primary_status = &monitor_;
  services_.clock = &clock_;
  EXPECT_EQ(policy::find_check_type("primary_up")->make(settings_, &services_), nullptr);
  EXPECT_TRUE(settings_.errors().empty());
}

TEST_F(PrimaryUpTest, AcceptForTheSectionDeferForOneDomain) {
  settings_.set("action", "accept");
  settings_.table("domain", "example.test").set("action", "defer");
  make();
  monitor_.alive("example.test", "mx1.example.test", "probe");
  monitor_.alive("other.test", "mx1.example.test", "probe");
  EXPECT_EQ(rcpt().decision, mail::Decision::Defer);
  EXPECT_EQ(rcpt("192.0.2.10", {"user", "other.test"}).decision, mail::Decision::Accept);
}

TEST_F(PrimaryUpTest, RetryWindowMustBeLongerThanMinPeriod) {
  settings_.set("retry_window", 600s);
  services_.primary_status = &monitor_;
  services_.clock = &clock_;
  policy::find_check_type("primary_up")->make(settings_, &services_);
  ASSERT_FALSE(settings_.errors().empty());
  EXPECT_NE(settings_.errors().front().find("retry_window"), std::string::npos);
}

} // namespace
} // namespace backstop::checks
