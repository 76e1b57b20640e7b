// greylist_test: the greylisting check through its registered factory, against the real
// SQLite store in a temporary directory served by its own thread, with a manual clock:
// the whole retry flow, lifetimes, auto-allowlisting, network grouping, the SPF skip,
// and that a broken or slow store accepts (greylisting never loses real mail).
#include "checks/fake_settings.hpp"
#include "policy/check_registry.hpp"
#include "state/async_store.hpp"
#include "state/store.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

namespace backstop::checks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using policy::Stage;

using state::testing::StoreThread;

// A store that cannot be reached, as a locked file or a Redis host that is down.
class UnavailableStore final : public state::GreylistStore {
public:
  state::Result<state::GreylistOutcome> record_attempt(const state::GreylistAttempt&,
                                                       const state::GreylistRules&) override {
    return state::make_error(state::ErrorKind::Unavailable, "database is locked");
  }
  state::Result<std::size_t> erase_expired(std::int64_t) override { return std::size_t{0}; }
};

// A store that answers only when released: slower than any deadline.
class StalledStore final : public state::GreylistStore {
public:
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  state::Result<state::GreylistOutcome> record_attempt(const state::GreylistAttempt&,
                                                       const state::GreylistRules&) override {
    released.wait();
    return state::GreylistOutcome{};
  }
  state::Result<std::size_t> erase_expired(std::int64_t) override { return std::size_t{0}; }
};

class GreylistTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("greylist_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    settings_.set("enabled", true);
    settings_.set("delay", 300s);
    settings_.set("retry_window", 3600s);
    settings_.set("lifetime", 86400s);
    settings_.set("auto_allow_after", std::uint64_t{0});
  }
  void TearDown() override {
    check_.reset();
    async_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // Builds the check over `store` (the real SQLite store unless a test gives another).
  void make(state::GreylistStore* store = nullptr) {
    async_ = std::make_unique<state::AsyncGreylistStore>(
        store != nullptr ? *store : store_->greylist(), store_thread_.executor());
    services_.greylist = async_.get();
    services_.clock = &clock_;
    const auto* type = policy::find_check_type("greylist");
    ASSERT_NE(type, nullptr) << "greylist registers itself";
    check_ = type->make(settings_, &services_);
    ASSERT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    ASSERT_NE(check_, nullptr);
  }

  mail::Verdict rcpt(const std::string& client_ip, const mail::Address& sender,
                     const mail::Address& recipient = {"user", "example.test"},
                     std::string spf = {}) {
    policy::SessionContext context;
    context.session_id = "test";
    context.executor = loop_.get_executor();
    context.client.ip = client_ip;
    context.client.address = asio::ip::make_address(client_ip);
    context.sender = sender;
    context.recipient = recipient;
    if (!spf.empty()) {
      context.transaction_facts["spf.mfrom"] = spf;
    }
    return run(context);
  }
  mail::Verdict rcpt(const std::string& client_ip = "192.0.2.10") {
    return rcpt(client_ip, sender_);
  }

  mail::Verdict run(const policy::SessionContext& context) {
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

  static void expect_deferred(const mail::Verdict& v, const std::string& wait,
                              const std::string& note = "") {
    SCOPED_TRACE(note);
    EXPECT_EQ(v.decision, mail::Decision::Defer) << v.reason;
    EXPECT_EQ(v.reply.code, 451);
    EXPECT_EQ(v.reply.enhanced, "4.7.1");
    EXPECT_NE(v.reply.text.find("Greylisted"), std::string::npos) << v.reply.text;
    EXPECT_NE(v.reply.text.find("try again in " + wait + " seconds"), std::string::npos)
        << v.reply.text;
    EXPECT_EQ(v.check, "greylist");
  }
  static void expect_accepted(const mail::Verdict& v, const std::string& note = "") {
    SCOPED_TRACE(note);
    EXPECT_EQ(v.decision, mail::Decision::Accept) << v.reason << " / " << v.reply.text;
    EXPECT_EQ(v.check, "greylist");
  }

  fs::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + 1700000000s};
  backstop::test::FakeSettings settings_{"checks.greylist"};
  policy::CheckServices services_;
  mail::Address sender_{"Someone", "sender.test"};
  asio::io_context loop_; // outlives the store thread
  StoreThread store_thread_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<state::AsyncGreylistStore> async_;
  std::unique_ptr<policy::Check> check_;
};

TEST_F(GreylistTest, OffByDefault) {
  backstop::test::FakeSettings empty{"checks.greylist"};
  const auto* type = policy::find_check_type("greylist");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->make(empty, &services_), nullptr);
  EXPECT_TRUE(empty.errors().empty());
}

TEST_F(GreylistTest, RetryWindowNotLongerThanDelayIsAConfigError) {
  settings_.set("retry_window", 300s);
  const auto* type = policy::find_check_type("greylist");
  ASSERT_NE(type, nullptr);
  type->make(settings_, nullptr);
  ASSERT_EQ(settings_.errors().size(), 1u);
  EXPECT_NE(settings_.errors().front().find("retry_window"), std::string::npos);
}

TEST_F(GreylistTest, RunsAtRcptOnly) {
  make();
  EXPECT_TRUE(check_->runs_at(Stage::Rcpt));
  EXPECT_FALSE(check_->runs_at(Stage::Connect));
  EXPECT_FALSE(check_->runs_at(Stage::Mail));
  EXPECT_FALSE(check_->runs_at(Stage::Data));
}

TEST_F(GreylistTest, TheRetryFlow) {
  make();
  expect_deferred(rcpt(), "300"); // first attempt
  clock_.advance(100s);
  expect_deferred(rcpt(), "200"); // too early: the wait left, not a new delay
  clock_.advance(199s);
  expect_deferred(rcpt(), "1");
  clock_.advance(1s);
  expect_accepted(rcpt()); // the delay has passed
  clock_.advance(3000s);
  expect_accepted(rcpt(), "a passed triplet stays passed");
}

TEST_F(GreylistTest, APassIsAnsweredFromMemoryUntilMemoryRefreshThenByTheStoreAgain) {
  settings_.set("memory_refresh", 600s);
  make();
  rcpt();
  clock_.advance(300s);
  expect_accepted(rcpt()); // passed: the store says so, and it is remembered
  clock_.advance(599s);
  const auto remembered = rcpt();
  expect_accepted(remembered);
  EXPECT_NE(remembered.reason.find("remembered"), std::string::npos) << remembered.reason;
  clock_.advance(1s);
  const auto asked = rcpt();
  expect_accepted(asked);
  EXPECT_EQ(asked.reason.find("remembered"), std::string::npos) << asked.reason;
}

TEST_F(GreylistTest, PassedTripletExpiresAfterLifetimeAndIsDeferredAgain) {
  make();
  rcpt();
  clock_.advance(300s);
  expect_accepted(rcpt());
  clock_.advance(86400s - 1s);
  expect_accepted(rcpt(), "each pass extends the lifetime");
  clock_.advance(86400s);
  expect_deferred(rcpt(), "300");
}

TEST_F(GreylistTest, RetryAfterTheRetryWindowStartsOver) {
  make();
  rcpt();
  clock_.advance(3600s);
  expect_deferred(rcpt(), "300");
}

TEST_F(GreylistTest, TripletIsSenderAndRecipientToo) {
  make();
  rcpt();
  clock_.advance(300s);
  expect_deferred(rcpt("192.0.2.10", {"other", "sender.test"}), "300");
  expect_deferred(rcpt("192.0.2.10", sender_, {"other", "example.test"}), "300");
  expect_accepted(rcpt("192.0.2.10", {"someone", "SENDER.test"}, {"USER", "example.test"}),
                  "addresses compare without case");
}

TEST_F(GreylistTest, NullSenderIsItsOwnTriplet) {
  make();
  expect_deferred(rcpt("192.0.2.10", mail::Address{}), "300");
  clock_.advance(300s);
  expect_accepted(rcpt("192.0.2.10", mail::Address{}));
}

TEST_F(GreylistTest, TwoAddressesInOneSlash24ShareATriplet) {
  make();
  expect_deferred(rcpt("192.0.2.10"), "300");
  clock_.advance(300s);
  expect_accepted(rcpt("192.0.2.77"), "the retry came from the same farm");
  expect_deferred(rcpt("192.0.3.10"), "300", "another /24");
}

TEST_F(GreylistTest, TwoAddressesInOneSlash64ShareATriplet) {
  make();
  expect_deferred(rcpt("2001:db8:1:2::1"), "300");
  clock_.advance(300s);
  expect_accepted(rcpt("2001:db8:1:2:ffff::9"));
  expect_deferred(rcpt("2001:db8:1:3::1"), "300");
}

TEST_F(GreylistTest, Ipv4MappedClientIsItsIpv4Network) {
  make();
  rcpt("192.0.2.10");
  clock_.advance(300s);
  expect_accepted(rcpt("::ffff:192.0.2.200"));
}

TEST_F(GreylistTest, PrefixLengthsAreConfigurable) {
  settings_.set("ipv4_prefix", std::uint64_t{32});
  settings_.set("ipv6_prefix", std::uint64_t{48});
  make();
  rcpt("192.0.2.10");
  rcpt("2001:db8:1:2::1");
  clock_.advance(300s);
  expect_deferred(rcpt("192.0.2.11"), "300", "/32: every address alone");
  expect_accepted(rcpt("192.0.2.10"));
  expect_accepted(rcpt("2001:db8:1:ff::1"), "/48 groups wider");
}

TEST_F(GreylistTest, NetworkIsAutoAllowlistedAfterNPasses) {
  settings_.set("memory_refresh", 0s); // every pass reaches the store and counts
  settings_.set("auto_allow_after", std::uint64_t{2});
  settings_.set("auto_allow_lifetime", 7 * 86400s);
  make();
  rcpt();
  clock_.advance(300s);
  expect_accepted(rcpt()); // pass 1
  clock_.advance(60s);
  expect_accepted(rcpt()); // pass 2: the network is allowlisted now
  const auto fresh = rcpt("192.0.2.99", {"new", "elsewhere.test"});
  expect_accepted(fresh);
  EXPECT_NE(fresh.reason.find("allowlisted"), std::string::npos) << fresh.reason;
  expect_deferred(rcpt("198.51.100.1", {"new", "elsewhere.test"}), "300", "not another network");
  clock_.advance(7 * 86400s);
  expect_deferred(rcpt("192.0.2.99", {"newer", "elsewhere.test"}), "300",
                  "the allowlist ends after its lifetime unused");
}

TEST_F(GreylistTest, AutoAllowlistOffWithZero) {
  make(); // auto_allow_after = 0
  rcpt();
  for (int i = 0; i < 5; ++i) {
    clock_.advance(300s);
    expect_accepted(rcpt());
  }
  expect_deferred(rcpt("192.0.2.99", {"new", "elsewhere.test"}), "300");
}

TEST_F(GreylistTest, SpfPassFromADomainThatPassedBeforeSkips) {
  settings_.set("skip_spf_pass", true);
  make();
  expect_deferred(rcpt("192.0.2.10", sender_, {"user", "example.test"}, "pass"), "300");
  clock_.advance(300s);
  expect_accepted(rcpt("192.0.2.10", sender_, {"user", "example.test"}, "pass"));
  const mail::Address colleague{"colleague", "sender.test"};
  const auto skipped = rcpt("203.0.113.5", colleague, {"other", "example.test"}, "pass");
  expect_accepted(skipped);
  EXPECT_NE(skipped.reason.find("known sender domain"), std::string::npos) << skipped.reason;
  expect_deferred(rcpt("203.0.113.5", colleague, {"third", "example.test"}, "softfail"), "300");
  expect_deferred(rcpt("203.0.113.5", colleague, {"fourth", "example.test"}), "300",
                  "no SPF result: greylisted");
}

TEST_F(GreylistTest, SpfPassDoesNotSkipWhenNotConfigured) {
  make(); // skip_spf_pass = false
  rcpt("192.0.2.10", sender_, {"user", "example.test"}, "pass");
  clock_.advance(300s);
  expect_accepted(rcpt("192.0.2.10", sender_, {"user", "example.test"}, "pass"));
  expect_deferred(rcpt("203.0.113.5", {"colleague", "sender.test"}, {"o", "example.test"}, "pass"),
                  "300");
}

TEST_F(GreylistTest, FirstSpfPassOfAnUnknownDomainIsStillGreylisted) {
  settings_.set("skip_spf_pass", true);
  make();
  expect_deferred(rcpt("192.0.2.10", sender_, {"user", "example.test"}, "pass"), "300");
}

TEST_F(GreylistTest, AllowlistedSessionIsNotGreylisted) {
  make();
  policy::SessionContext context;
  context.client.ip = "192.0.2.10";
  context.client.address = asio::ip::make_address("192.0.2.10");
  context.sender = sender_;
  context.recipient = {"user", "example.test"};
  context.session_permitted = true;
  expect_accepted(run(context));
  context.session_permitted = false;
  context.transaction_permitted = true;
  expect_accepted(run(context));
}

TEST_F(GreylistTest, StateSurvivesARestartOfTheStore) {
  make();
  rcpt();
  check_.reset();
  async_.reset();
  store_.reset();
  auto reopened = state::open_store({"sqlite", dir_ / "state.db", false});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  store_ = std::move(reopened.value());
  make();
  clock_.advance(300s);
  expect_accepted(rcpt());
}

TEST_F(GreylistTest, UnavailableStoreAccepts) {
  UnavailableStore broken;
  make(&broken);
  const auto v = rcpt();
  expect_accepted(v);
  EXPECT_NE(v.reason.find("unavailable"), std::string::npos) << v.reason;
}

TEST_F(GreylistTest, SlowStoreAcceptsAtItsDeadline) {
  settings_.set("store_timeout", 100ms);
  StalledStore stalled;
  make(&stalled);
  const auto start = std::chrono::steady_clock::now();
  const auto v = rcpt();
  const auto took = std::chrono::steady_clock::now() - start;
  stalled.release.set_value();
  store_thread_.drain(); // the late answer is discarded; the store is not used after this
  expect_accepted(v);
  EXPECT_NE(v.reason.find("timeout"), std::string::npos) << v.reason;
  EXPECT_LT(took, 5s) << "store_timeout 100 ms";
}

} // namespace
} // namespace backstop::checks
