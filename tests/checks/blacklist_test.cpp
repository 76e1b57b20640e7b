// blacklist_test: the blacklist check through its registered factory, against the real
// SQLite offender store on its own thread, with a manual clock: a client listed by enough
// offenses gets the 550 at RCPT, an expired listing does not; the allowlists (networks,
// forward-confirmed PTR suffixes from the facts or looked up) are never refused and never
// listed; a broken or slow store never refuses; DNS trouble over an allowlist is a 4xx.
#include "checks/blacklist_ptr.hpp"
#include "checks/connection_checks_fixture.hpp"
#include "state/async_offender_store.hpp"
#include "state/store.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <future>
#include <unistd.h>

namespace backstop::checks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using policy::Stage;
using test::TableResolver;

constexpr std::int64_t t0 = 1700000000;

// A store that cannot be reached, as a locked file or a Redis host that is down.
class UnavailableStore final : public state::OffenderStore {
public:
  state::Error down() const { return state::make_error(state::ErrorKind::Unavailable, "locked"); }
  state::Result<state::RecordOutcome> record(const state::Offense&,
                                             const state::BlacklistRules&) override {
    return down();
  }
  state::Result<std::optional<state::Listing>> listing(const std::string&, std::int64_t) override {
    return down();
  }
  state::Status list(const state::Listing&) override { return down(); }
  state::Result<bool> unlist(const std::string&) override { return down(); }
  state::Result<std::vector<state::Listing>> listings(std::int64_t) override { return down(); }
  state::Result<std::vector<state::Offense>> offenses(const std::string&, std::int64_t,
                                                      std::size_t) override {
    return down();
  }
  state::Result<state::RetryHistory> record_retry(const state::Triplet&, std::int64_t,
                                                  std::int64_t) override {
    return down();
  }
  state::Result<std::size_t> erase_expired(std::int64_t, const state::BlacklistRules&) override {
    return down();
  }
};

// Lists everyone, but answers only when released: slower than any deadline.
class StalledStore final : public state::OffenderStore {
public:
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  UnavailableStore rest;
  state::Result<std::optional<state::Listing>> listing(const std::string& a,
                                                       std::int64_t now) override {
    released.wait();
    return std::optional<state::Listing>(state::Listing{a, now, 0, "stalled", true});
  }
  state::Result<state::RecordOutcome> record(const state::Offense& o,
                                             const state::BlacklistRules& r) override {
    return rest.record(o, r);
  }
  state::Status list(const state::Listing& l) override { return rest.list(l); }
  state::Result<bool> unlist(const std::string& a) override { return rest.unlist(a); }
  state::Result<std::vector<state::Listing>> listings(std::int64_t now) override {
    return rest.listings(now);
  }
  state::Result<std::vector<state::Offense>> offenses(const std::string& a, std::int64_t s,
                                                      std::size_t n) override {
    return rest.offenses(a, s, n);
  }
  state::Result<state::RetryHistory> record_retry(const state::Triplet& t, std::int64_t now,
                                                  std::int64_t f) override {
    return rest.record_retry(t, now, f);
  }
  state::Result<std::size_t> erase_expired(std::int64_t now,
                                           const state::BlacklistRules& r) override {
    return rest.erase_expired(now, r);
  }
};

class BlacklistTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("blacklist_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    rules_.threshold = 3;
    rules_.window = 86400;
    rules_.listing = 3600;
    settings_.set("enabled", true);
    settings_.set("store_timeout", 200ms);
  }
  void TearDown() override {
    check_.reset();
    async_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void make(state::OffenderStore* store = nullptr, state::OffenderAllowlist allowlist = {}) {
    async_ = std::make_unique<state::AsyncOffenderStore>(
        store != nullptr ? *store : store_->offenders(), store_thread_.executor());
    async_->set_rules(rules_);
    async_->set_allowlist(std::move(allowlist));
    services_.offenders = async_.get();
    services_.clock = &clock_;
    services_.resolver = &resolver_;
    services_.counters = &counters_;
    const auto* type = policy::find_check_type("blacklist");
    ASSERT_NE(type, nullptr) << "blacklist registers itself";
    check_ = type->make(settings_, &services_);
    ASSERT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    ASSERT_NE(check_, nullptr);
  }
  static state::OffenderAllowlist allow(std::vector<std::string> networks,
                                        std::vector<std::string> suffixes = {}) {
    std::vector<std::string> errors;
    state::OffenderAllowlist out(networks, suffixes, errors);
    EXPECT_TRUE(errors.empty());
    return out;
  }

  // Offenses as the primary_up check or a trap records them, through the facade.
  state::RecordOutcome offend(const std::string& ip, std::string ptr = {}) {
    state::Offense o;
    o.address = ip;
    o.at = clock_.now_unix();
    o.kind = state::OffenseKind::PrimaryDeferral;
    o.listener = "smtp 127.0.0.1:25";
    o.ptr = std::move(ptr);
    std::optional<state::Result<state::RecordOutcome>> got;
    asio::co_spawn(
        loop_,
        [](state::AsyncOffenderStore* async, state::Offense o,
           std::optional<state::Result<state::RecordOutcome>>* got) -> asio::awaitable<void> {
          got->emplace(co_await async->record(std::move(o), std::chrono::seconds(5)));
        }(async_.get(), std::move(o), &got),
        asio::detached);
    loop_.restart();
    loop_.run();
    EXPECT_TRUE(got && got->ok());
    return got && got->ok() ? got->value() : state::RecordOutcome{};
  }

  mail::Verdict rcpt(const std::string& ip, std::map<std::string, std::string> facts = {}) {
    policy::SessionContext context;
    context.session_id = "test";
    context.executor = loop_.get_executor();
    context.client.ip = ip;
    context.client.address = asio::ip::make_address(ip);
    context.sender = {"someone", "sender.test"};
    context.recipient = {"user", "example.test"};
    for (auto& [k, v] : facts) {
      context.session_facts[k] = v;
    }
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

  static void expect_refused(const mail::Verdict& v) {
    EXPECT_EQ(v.decision, mail::Decision::Reject) << v.reason;
    EXPECT_EQ(v.reply.code, 550);
    EXPECT_EQ(v.reply.enhanced, "5.7.1");
    EXPECT_EQ(v.reply.text, "you tried me, a backup MX, too often while the primary MX is online");
    EXPECT_EQ(v.check, "blacklist");
  }
  static void expect_accepted(const mail::Verdict& v, const std::string& note = "") {
    SCOPED_TRACE(note);
    EXPECT_EQ(v.decision, mail::Decision::Accept) << v.reason << " / " << v.reply.text;
    EXPECT_EQ(v.check, "blacklist");
  }

  fs::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + std::chrono::seconds(t0)};
  backstop::test::FakeSettings settings_{"checks.blacklist"};
  policy::CheckServices services_;
  TableResolver resolver_;
  metrics::Counters counters_;
  state::BlacklistRules rules_;
  asio::io_context loop_; // outlives the store thread
  state::testing::StoreThread store_thread_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<state::AsyncOffenderStore> async_;
  std::unique_ptr<policy::Check> check_;
};

TEST_F(BlacklistTest, RunsAtRcptOnly) {
  make();
  EXPECT_TRUE(check_->runs_at(Stage::Rcpt));
  for (auto stage : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Data}) {
    EXPECT_FALSE(check_->runs_at(stage));
  }
}

TEST_F(BlacklistTest, OffIsTheDefault) {
  settings_.erase("enabled");
  services_.offenders = nullptr;
  const auto* type = policy::find_check_type("blacklist");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->make(settings_, &services_), nullptr);
}

TEST_F(BlacklistTest, ThresholdReachedRefusesWith550) {
  make();
  offend("192.0.2.7");
  offend("192.0.2.7");
  expect_accepted(rcpt("192.0.2.7"), "two offenses, below the threshold");
  EXPECT_TRUE(offend("192.0.2.7").newly_listed);
  expect_refused(rcpt("192.0.2.7"));
  expect_accepted(rcpt("192.0.2.8"), "another client");
}

TEST_F(BlacklistTest, AnExpiredListingNoLongerRefuses) {
  make();
  for (int i = 0; i < 3; ++i) {
    offend("2001:db8::7");
  }
  expect_refused(rcpt("2001:db8::7"));
  clock_.advance(std::chrono::seconds(3599));
  expect_refused(rcpt("2001:db8::7"));
  clock_.advance(std::chrono::seconds(1));
  expect_accepted(rcpt("2001:db8::7"), "the listing lasted 3600 s");
}

TEST_F(BlacklistTest, AllowlistedNetworkIsNeverRefusedNorListed) {
  make(nullptr, allow({"192.0.2.0/24"}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(offend("192.0.2.7").listed) << "an allowlisted client's offenses do not count";
  }
  ASSERT_TRUE(store_->offenders().list({"192.0.2.7", t0, 0, "by hand", true}).ok());
  expect_accepted(rcpt("192.0.2.7"), "listed by hand, but allowlisted");
  auto kept = store_->offenders().offenses("192.0.2.7", 0, 100);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept.value().size(), 5u) << "kept as evidence";
  EXPECT_FALSE(kept.value().front().counts);
  EXPECT_NE(kept.value().front().detail.find("allowlisted: network 192.0.2.0/24"),
            std::string::npos)
      << kept.value().front().detail;
}

TEST_F(BlacklistTest, ConfirmedPtrSuffixFromTheFactsIsNeverRefusedNorListed) {
  make(nullptr, allow({}, {"mail.bigsender.test"}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(offend("198.51.100.9", "out7.mail.bigsender.test").listed);
  }
  ASSERT_TRUE(store_->offenders().list({"198.51.100.9", t0, 0, "by hand", true}).ok());
  expect_accepted(
      rcpt("198.51.100.9", {{"ptr", "out7.mail.bigsender.test"}, {"ptr_confirmed", "yes"}}));
  expect_refused(
      rcpt("198.51.100.9", {{"ptr", "out7.mail.bigsender.test"}, {"ptr_confirmed", "no"}}));
  EXPECT_TRUE(resolver_.asked.empty()) << "the facts were enough";
}

TEST_F(BlacklistTest, SuffixMatchesWholeLabelsOnly) {
  make(nullptr, allow({}, {"bigsender.test"}));
  ASSERT_TRUE(store_->offenders().list({"198.51.100.9", t0, 0, "by hand", true}).ok());
  expect_refused(rcpt("198.51.100.9", {{"ptr", "notbigsender.test"}, {"ptr_confirmed", "yes"}}));
  expect_accepted(rcpt("198.51.100.9", {{"ptr", "bigsender.test"}, {"ptr_confirmed", "yes"}}));
}

TEST_F(BlacklistTest, WithoutReverseDnsFactsThePtrIsLookedUpAndConfirmed) {
  make(nullptr, allow({}, {"mail.bigsender.test"}));
  ASSERT_TRUE(store_->offenders().list({"198.51.100.9", t0, 0, "by hand", true}).ok());
  ASSERT_TRUE(store_->offenders().list({"198.51.100.10", t0, 0, "by hand", true}).ok());
  resolver_.ptr_names["198.51.100.9"] = {"out7.mail.bigsender.test"};
  resolver_.hosts["out7.mail.bigsender.test"] = {"198.51.100.9"};
  resolver_.ptr_names["198.51.100.10"] = {"forged.mail.bigsender.test"}; // resolves elsewhere
  resolver_.hosts["forged.mail.bigsender.test"] = {"203.0.113.1"};
  expect_accepted(rcpt("198.51.100.9"), "confirmed under the suffix");
  expect_refused(rcpt("198.51.100.10"));
}

TEST_F(BlacklistTest, DnsTroubleOverAPtrAllowlistDefersNotRefuses) {
  make(nullptr, allow({}, {"mail.bigsender.test"}));
  ASSERT_TRUE(store_->offenders().list({"198.51.100.9", t0, 0, "by hand", true}).ok());
  resolver_.temp_fail = true;
  const auto v = rcpt("198.51.100.9");
  EXPECT_EQ(v.decision, mail::Decision::Defer) << v.reason;
  EXPECT_EQ(v.reply.code, 451);
}

TEST_F(BlacklistTest, NoPtrSuffixesNoLookup) {
  make();
  ASSERT_TRUE(store_->offenders().list({"198.51.100.9", t0, 0, "by hand", true}).ok());
  resolver_.temp_fail = true;
  expect_refused(rcpt("198.51.100.9"));
  EXPECT_TRUE(resolver_.asked.empty());
}

TEST_F(BlacklistTest, UnlistedClientsCostNoDnsLookup) {
  make(nullptr, allow({}, {"mail.bigsender.test"}));
  expect_accepted(rcpt("198.51.100.9"));
  EXPECT_TRUE(resolver_.asked.empty());
}

// A trap's offense has no PTR name: the facade asks DNS, so a large sender's confirmed host
// never counts, whoever recorded it.
TEST_F(BlacklistTest, PostedOffensesWithoutPtrAreLookedUpAgainstTheSuffixes) {
  make(nullptr, allow({}, {"mail.bigsender.test"}));
  async_->set_ptr_lookup([resolver = &resolver_](std::string address) {
    return confirmed_ptr_name(resolver, std::move(address));
  });
  resolver_.ptr_names["198.51.100.9"] = {"out7.mail.bigsender.test"};
  resolver_.hosts["out7.mail.bigsender.test"] = {"198.51.100.9"};
  resolver_.ptr_names["198.51.100.10"] = {"forged.mail.bigsender.test"};
  resolver_.hosts["forged.mail.bigsender.test"] = {"203.0.113.1"};
  for (int i = 0; i < 4; ++i) {
    for (const char* ip : {"198.51.100.9", "198.51.100.10"}) {
      state::Offense o;
      o.address = ip;
      o.at = t0 + i;
      o.kind = state::OffenseKind::TrapHit;
      async_->post_record(std::move(o));
    }
  }
  auto stored = [&](const std::string& ip) {
    for (int tries = 0; tries < 100; ++tries) {
      store_thread_.drain();
      auto got = store_->offenders().offenses(ip, 0, 100);
      if (got.ok() && got.value().size() == 4) {
        return got.value();
      }
    }
    ADD_FAILURE() << "the offenses of " << ip << " were not all recorded";
    return std::vector<state::Offense>{};
  };
  const auto big = stored("198.51.100.9");
  ASSERT_EQ(big.size(), 4u);
  EXPECT_EQ(big.front().ptr, "out7.mail.bigsender.test");
  EXPECT_FALSE(big.front().counts);
  EXPECT_EQ(stored("198.51.100.10").front().counts, true) << "not confirmed: it counts";
  EXPECT_FALSE(store_->offenders().listing("198.51.100.9", t0 + 10).value());
  EXPECT_TRUE(store_->offenders().listing("198.51.100.10", t0 + 10).value());
}

TEST_F(BlacklistTest, AnUnavailableStoreAcceptsAndCounts) {
  UnavailableStore down;
  make(&down);
  const auto v = rcpt("192.0.2.7");
  expect_accepted(v);
  EXPECT_NE(v.reason.find("unavailable"), std::string::npos) << v.reason;
  EXPECT_EQ(counters_.value(metrics::Counter::BlacklistUnchecked), 1u);
}

TEST_F(BlacklistTest, ASlowStoreAcceptsWithinItsTimeout) {
  StalledStore slow;
  make(&slow);
  const auto started = std::chrono::steady_clock::now();
  const auto v = rcpt("192.0.2.7");
  const auto took = std::chrono::steady_clock::now() - started;
  slow.release.set_value();
  expect_accepted(v);
  EXPECT_NE(v.reason.find("timeout"), std::string::npos) << v.reason;
  EXPECT_LT(took, 5s) << "store_timeout is 200 ms";
  EXPECT_EQ(counters_.value(metrics::Counter::BlacklistUnchecked), 1u);
  store_thread_.drain();
}

TEST_F(BlacklistTest, APermittedSessionIsNotAsked) {
  UnavailableStore down;
  make(&down);
  policy::SessionContext context;
  context.client.ip = "192.0.2.7";
  context.client.address = asio::ip::make_address("192.0.2.7");
  context.session_permitted = true;
  std::optional<mail::Verdict> out;
  asio::co_spawn(loop_, check_->check(Stage::Rcpt, context),
                 [&](std::exception_ptr, mail::Verdict v) { out = std::move(v); });
  loop_.restart();
  loop_.run();
  ASSERT_TRUE(out);
  expect_accepted(*out);
  EXPECT_EQ(counters_.value(metrics::Counter::BlacklistUnchecked), 0u);
}

} // namespace
} // namespace backstop::checks
