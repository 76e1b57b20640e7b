// skipped_primary_test: the skipped-primary and mx_contacts checks through their registered
// factories, over the real SQLite contact store on its own thread, an in-memory offender
// store (the offenses recorded, with their evidence) and a manual clock: a client that
// contacted the primary within the window is not scored, one that did not (or too long ago)
// is, once per transaction and with one offense per session; a silent feed, an unknown
// domain, an allowlisted client and a broken store are not judged; the more-preferred hosts
// from configuration and from the domain's MX records.
#include "checks/fake_settings.hpp"
#include "checks/skipped_primary_hosts.hpp"
#include "policy/check_registry.hpp"
#include "state/async_contact_store.hpp"
#include "state/async_offender_store.hpp"
#include "state/store.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <mutex>
#include <unistd.h>

namespace backstop::checks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using policy::Stage;

constexpr std::int64_t t0 = 1700000000;

// Records offenses in memory; the rest of the interface is not used by the check.
class MemoryOffenders final : public state::OffenderStore {
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

class BrokenContacts final : public state::ContactStore {
public:
  state::Status record(const std::vector<state::Contact>&, std::int64_t) override { return fail(); }
  state::Status record_ingested(const std::vector<state::Contact>&, std::int64_t,
                                const state::IngestPosition&) override {
    return fail();
  }
  state::Result<std::optional<state::IngestPosition>> position(const std::string&) override {
    return fail();
  }
  state::Result<std::vector<state::ContactHistory>> contacts(const std::string&,
                                                             std::int64_t) override {
    return fail();
  }
  state::Result<std::vector<state::HostEvidence>>
  evidence(const std::string&, const std::vector<std::string>&, std::int64_t) override {
    return fail();
  }
  state::Result<std::size_t> erase_expired(std::int64_t) override { return fail(); }

private:
  static state::Error fail() { return state::make_error(state::ErrorKind::Unavailable, "down"); }
};

// Answers evidence only when released: slower than any deadline.
class StalledContacts final : public state::ContactStore {
public:
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  state::Status record(const std::vector<state::Contact>&, std::int64_t) override {
    return mail::Ok{};
  }
  state::Status record_ingested(const std::vector<state::Contact>&, std::int64_t,
                                const state::IngestPosition&) override {
    return mail::Ok{};
  }
  state::Result<std::optional<state::IngestPosition>> position(const std::string&) override {
    return std::optional<state::IngestPosition>{};
  }
  state::Result<std::vector<state::ContactHistory>> contacts(const std::string&,
                                                             std::int64_t) override {
    return std::vector<state::ContactHistory>{};
  }
  state::Result<std::vector<state::HostEvidence>>
  evidence(const std::string&, const std::vector<std::string>& hosts, std::int64_t) override {
    released.wait();
    return std::vector<state::HostEvidence>(hosts.size());
  }
  state::Result<std::size_t> erase_expired(std::int64_t) override { return std::size_t{0}; }
};

class MxResolver final : public dns::Resolver {
public:
  std::vector<dns::MxRecord> records;
  dns::Status status = dns::Status::Found;
  asio::awaitable<dns::MxAnswer> mx(std::string) override {
    dns::MxAnswer a;
    a.status = status;
    a.records = records;
    co_return a;
  }
  asio::awaitable<dns::AddressAnswer> addresses(std::string) override {
    co_return dns::AddressAnswer{};
  }
};

class SkippedPrimaryTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("skipped_primary_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    settings_.set("enabled", true);
    settings_.set("window", 3600s);
    settings_.set("score", 4.0);
    settings_.table("domain", "example.org")
        .set("preferred", std::vector<std::string>{"MX1.example.org."});
    services_.clock = &clock_;
    services_.hostname = "mx2.example.org";
    services_.resolver = &resolver_;
    services_.is_local_name = [](std::string_view n) { return n == "mx2.example.org"; };
  }
  void TearDown() override {
    check_.reset();
    store_thread_.drain();
    contacts_.reset();
    offenders_async_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void make(state::ContactStore* contacts = nullptr) {
    contacts_ = std::make_unique<state::AsyncContactStore>(
        contacts != nullptr ? *contacts : store_->contacts(), store_thread_.executor(), 86400);
    offenders_async_ =
        std::make_unique<state::AsyncOffenderStore>(offenders_, store_thread_.executor());
    services_.contacts = contacts_.get();
    services_.offenders = offenders_async_.get();
    const auto* type = policy::find_check_type("skipped_primary");
    ASSERT_NE(type, nullptr) << "skipped_primary registers itself";
    check_ = type->make(settings_, &services_);
    ASSERT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    ASSERT_NE(check_, nullptr);
  }

  void contact(const std::string& ip, const std::string& host, std::int64_t at) {
    ASSERT_TRUE(store_->contacts().record({{ip, host, "ingest postfix", at}}, 86400).ok());
  }

  policy::SessionContext context(const std::string& ip, const std::string& domain = "example.org") {
    policy::SessionContext c;
    c.session_id = "test";
    c.executor = loop_.get_executor();
    c.client.ip = ip;
    c.client.address = asio::ip::make_address(ip);
    c.client.listener = "127.0.0.2:25";
    c.helo = "bot.example";
    c.sender = {"a", "sender.example"};
    c.recipient = {"user", domain};
    return c;
  }

  mail::Verdict run(const policy::Check& check, Stage stage, const policy::SessionContext& c) {
    std::optional<mail::Verdict> out;
    asio::co_spawn(loop_, check.check(stage, c), [&](std::exception_ptr e, mail::Verdict v) {
      EXPECT_FALSE(e);
      out = std::move(v);
    });
    loop_.restart();
    loop_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(mail::Verdict{});
  }
  mail::Verdict rcpt(const policy::SessionContext& c) { return run(*check_, Stage::Rcpt, c); }
  // The pipeline's part: facts of the verdict recorded in the context.
  static void apply(policy::SessionContext& c, const mail::Verdict& v) {
    for (const auto& f : v.facts) {
      (f.key.starts_with("session.") ? c.session_facts : c.transaction_facts)[f.key] = f.value;
    }
  }
  std::vector<state::Offense> offenses() {
    store_thread_.drain();
    return offenders_.recorded;
  }

  fs::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + std::chrono::seconds(t0)};
  backstop::test::FakeSettings settings_{"checks.skipped_primary"};
  policy::CheckServices services_;
  MxResolver resolver_;
  MemoryOffenders offenders_;
  asio::io_context loop_;
  state::testing::StoreThread store_thread_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<state::AsyncContactStore> contacts_;
  std::unique_ptr<state::AsyncOffenderStore> offenders_async_;
  std::unique_ptr<policy::Check> check_;
};

TEST_F(SkippedPrimaryTest, OffByDefault) {
  settings_.erase("enabled");
  state::AsyncContactStore contacts(store_->contacts(), store_thread_.executor());
  services_.contacts = &contacts;
  EXPECT_EQ(policy::find_check_type("skipped_primary")->make(settings_, &services_), nullptr);
  EXPECT_TRUE(settings_.errors().empty());
}

TEST_F(SkippedPrimaryTest, ClientThatContactedThePrimaryWithinTheWindowIsNotScored) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 600);
  const auto v = rcpt(context("192.0.2.1"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(v.score, 0) << v.reason;
  EXPECT_TRUE(offenses().empty());
}

TEST_F(SkippedPrimaryTest, ClientThatNeverContactedThePrimaryIsScoredWithEvidence) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60); // the feed is alive
  const auto v = rcpt(context("192.0.2.2"));
  EXPECT_EQ(v.decision, mail::Decision::Accept) << "a score, never a refusal by itself";
  EXPECT_EQ(v.score, 4.0);
  EXPECT_EQ(v.check, "skipped_primary");
  EXPECT_EQ(v.reason, "no contact to mx1.example.org within 1 h");
  const auto o = offenses();
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].address, "192.0.2.2");
  EXPECT_EQ(o[0].kind, state::OffenseKind::SkippedPrimary);
  EXPECT_EQ(o[0].at, t0);
  EXPECT_EQ(o[0].listener, "smtp 127.0.0.2:25");
  EXPECT_EQ(o[0].helo, "bot.example");
  EXPECT_EQ(o[0].sender_domain, "sender.example");
  EXPECT_EQ(o[0].recipient_domain, "example.org");
  EXPECT_EQ(o[0].detail, "no contact to mx1.example.org within 1 h");
  EXPECT_TRUE(o[0].counts);
}

TEST_F(SkippedPrimaryTest, ContactOlderThanTheWindowIsScored) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60);
  contact("192.0.2.3", "mx1.example.org", t0 - 3 * 3600);
  const auto v = rcpt(context("192.0.2.3"));
  EXPECT_EQ(v.score, 4.0);
  EXPECT_EQ(v.reason, "no contact to mx1.example.org within 1 h (last 3 h ago)");
}

// The clock moves on between the contact and the RCPT: 3 h and a second still reads "3 h"
// (CI saw "last 10801 s ago" when a second boundary fell between the two).
TEST_F(SkippedPrimaryTest, AnAgeReadsInItsLargestWholeUnit) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60);
  contact("192.0.2.3", "mx1.example.org", t0 - 3 * 3600 - 1);
  EXPECT_EQ(rcpt(context("192.0.2.3")).reason,
            "no contact to mx1.example.org within 1 h (last 3 h ago)");
}

TEST_F(SkippedPrimaryTest, ContactToUsOnlyDoesNotCount) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60);
  contact("192.0.2.4", "mx2.example.org", t0 - 5);
  EXPECT_EQ(rcpt(context("192.0.2.4")).score, 4.0);
}

TEST_F(SkippedPrimaryTest, ScoredOncePerTransactionAndRecordedOncePerSession) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60);
  auto c = context("192.0.2.5");
  auto first = rcpt(c);
  EXPECT_EQ(first.score, 4.0);
  apply(c, first);
  EXPECT_EQ(rcpt(c).score, 0) << "the second RCPT of the transaction";
  c.reset_transaction();
  c.recipient = {"other", "example.org"};
  auto next = rcpt(c);
  EXPECT_EQ(next.score, 4.0) << "a new transaction is scored again";
  EXPECT_EQ(offenses().size(), 1U) << "but the session is one offense";
}

TEST_F(SkippedPrimaryTest, SilentFeedJudgesNobody) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 2 * 3600); // nobody reached mx1 in the last hour
  const auto v = rcpt(context("192.0.2.6"));
  EXPECT_EQ(v.score, 0);
  EXPECT_NE(v.reason.find("feed is silent"), std::string::npos) << v.reason;
  EXPECT_TRUE(offenses().empty());
}

TEST_F(SkippedPrimaryTest, FeedSilenceZeroJudgesEvenWithoutAFeed) {
  settings_.set("feed_silence", 0s);
  make();
  EXPECT_EQ(rcpt(context("192.0.2.6")).score, 4.0);
}

TEST_F(SkippedPrimaryTest, AllowlistedClientIsNotJudged) {
  make();
  contact("192.0.2.1", "mx1.example.org", t0 - 60);
  auto c = context("192.0.2.7");
  c.session_permitted = true;
  EXPECT_EQ(rcpt(c).score, 0);
}

TEST_F(SkippedPrimaryTest, UnavailableStoreAcceptsUnjudged) {
  BrokenContacts broken;
  make(&broken);
  const auto v = rcpt(context("192.0.2.8"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(v.score, 0);
  EXPECT_NE(v.reason.find("unavailable"), std::string::npos) << v.reason;
}

TEST_F(SkippedPrimaryTest, SlowStoreAcceptsUnjudgedAtItsDeadline) {
  StalledContacts stalled;
  settings_.set("store_timeout", 50ms);
  make(&stalled);
  const auto started = std::chrono::steady_clock::now();
  const auto v = rcpt(context("192.0.2.8"));
  const auto took = std::chrono::steady_clock::now() - started;
  stalled.release.set_value();
  store_thread_.drain(); // the late answer is discarded; the store is not used after this
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(v.score, 0);
  EXPECT_NE(v.reason.find("timeout"), std::string::npos) << v.reason;
  EXPECT_LT(took, 5s) << "the deadline, not the store, ends the wait";
}

TEST_F(SkippedPrimaryTest, PreferredListForEveryDomainWithoutItsOwn) {
  settings_.set("preferred", std::vector<std::string>{"mx0.example.com"});
  make();
  contact("192.0.2.1", "mx0.example.com", t0 - 60);
  contact("192.0.2.99", "mx1.example.org", t0 - 60);
  EXPECT_EQ(rcpt(context("192.0.2.14", "example.com")).reason,
            "no contact to mx0.example.com within 1 h");
  EXPECT_EQ(rcpt(context("192.0.2.1", "example.com")).score, 0);
  EXPECT_EQ(rcpt(context("192.0.2.1", "example.org")).score, 4.0) << "its own list: mx1";
}

TEST_F(SkippedPrimaryTest, PreferredHostsFromTheDomainsMxRecords) {
  resolver_.records = {{10, "mx1.example.net"},
                       {5, "mx0.example.net"},
                       {20, "mx2.example.org"},
                       {30, "mx3.example.net"}};
  make();
  contact("192.0.2.1", "mx0.example.net", t0 - 60);
  const auto v = rcpt(context("192.0.2.9", "example.net"));
  EXPECT_EQ(v.score, 4.0);
  EXPECT_EQ(v.reason, "no contact to mx1.example.net, mx0.example.net within 1 h");
  contact("192.0.2.10", "mx1.example.net", t0 - 60);
  EXPECT_EQ(rcpt(context("192.0.2.10", "example.net")).score, 0);
}

TEST_F(SkippedPrimaryTest, NotJudgedWhenWeAreNotAnMxOrDnsFails) {
  resolver_.records = {{10, "mx1.example.net"}};
  make();
  contact("192.0.2.1", "mx1.example.net", t0 - 60);
  EXPECT_EQ(rcpt(context("192.0.2.11", "example.net")).score, 0);
  resolver_.status = dns::Status::TempFail;
  EXPECT_EQ(rcpt(context("192.0.2.11", "example.net")).score, 0);
}

TEST(MorePreferred, OnlyRecordsBetterThanOurBestOne) {
  const auto ours = [](std::string_view n) { return n == "b" || n == "d"; };
  const std::vector<dns::MxRecord> records{{10, "a"}, {20, "b"}, {20, "c"}, {5, "d"}, {1, "e"}};
  EXPECT_EQ(more_preferred(records, ours), std::vector<std::string>{"e"});
  EXPECT_TRUE(more_preferred({{10, "a"}}, ours).empty());
}

TEST_F(SkippedPrimaryTest, MxContactsRecordsEveryConnectWithTheConfiguredHost) {
  make();
  backstop::test::FakeSettings settings{"checks.mx_contacts"};
  settings.set("host", "MX2.Example.Org");
  const auto* type = policy::find_check_type("mx_contacts");
  ASSERT_NE(type, nullptr);
  auto check = type->make(settings, &services_);
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->runs_at(Stage::Connect));
  EXPECT_FALSE(check->runs_at(Stage::Rcpt));
  const auto v = run(*check, Stage::Connect, context("192.0.2.12"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  store_thread_.drain();
  auto rows = store_->contacts().contacts("192.0.2.12", t0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows.value().size(), 1U);
  EXPECT_EQ(rows.value()[0].host, "mx2.example.org");
  EXPECT_EQ(rows.value()[0].source, "listener smtp 127.0.0.2:25");
  EXPECT_EQ(rows.value()[0].last_at, t0);
}

TEST_F(SkippedPrimaryTest, MxContactsDefaultsToOurHostname) {
  make();
  backstop::test::FakeSettings settings{"checks.mx_contacts"};
  auto check = policy::find_check_type("mx_contacts")->make(settings, &services_);
  ASSERT_NE(check, nullptr);
  run(*check, Stage::Connect, context("192.0.2.13"));
  store_thread_.drain();
  auto rows = store_->contacts().contacts("192.0.2.13", t0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows.value().size(), 1U);
  EXPECT_EQ(rows.value()[0].host, "mx2.example.org");
}

} // namespace
} // namespace backstop::checks
