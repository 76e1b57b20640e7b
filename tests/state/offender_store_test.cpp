// offender_store_test: (every backend: state/store_backends.hpp) offenses, the blacklist and
// persistence retries in a real SQLite file in a temporary directory: the threshold within the
// window lists, older and non-counting offenses do not, a longer listing is never shortened,
// listings expire, manual listings, the evidence newest first, retries, purging, and a reopen.
#include "state/async_offender_store.hpp"
#include "state/store.hpp"
#include "state/store_backends.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t t0 = 1700000000;
constexpr std::int64_t day = 86400;

class OffenderStoreTest : public testing::BackendStoreTest {
protected:
  void SetUp() override {
    BackendStoreTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    rules_.threshold = 3;
    rules_.window = day;
    rules_.listing = 7 * day;
    rules_.keep_offenses = 30 * day;
  }
  OffenderStore& offenders() { return store_->offenders(); }

  static Offense offense(std::int64_t at, std::string address = "192.0.2.7", bool counts = true) {
    Offense o;
    o.address = std::move(address);
    o.at = at;
    o.kind = OffenseKind::PrimaryDeferral;
    o.listener = "smtp 127.0.0.1:25";
    o.helo = "bot.example";
    o.sender_domain = "sender.test";
    o.recipient_domain = "example.org";
    o.detail = "primary mx1.example.org is up";
    o.counts = counts;
    return o;
  }
  RecordOutcome record(const Offense& o) {
    auto got = offenders().record(o, rules_);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : RecordOutcome{};
  }
  std::optional<Listing> listing_at(std::int64_t now, const std::string& address = "192.0.2.7") {
    auto got = offenders().listing(address, now);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : std::nullopt;
  }

  BlacklistRules rules_;
};

TEST_P(OffenderStoreTest, ThresholdWithinTheWindowLists) {
  EXPECT_EQ(record(offense(t0)).counting_in_window, 1u);
  const auto second = record(offense(t0 + 100));
  EXPECT_EQ(second.counting_in_window, 2u);
  EXPECT_FALSE(second.listed);
  EXPECT_FALSE(listing_at(t0 + 100));
  const auto third = record(offense(t0 + 200));
  EXPECT_EQ(third.counting_in_window, 3u);
  EXPECT_TRUE(third.newly_listed);
  ASSERT_TRUE(third.listed);
  EXPECT_EQ(third.listed->listed_at, t0 + 200);
  EXPECT_EQ(third.listed->expires_at, t0 + 200 + 7 * day);
  EXPECT_EQ(third.listed->reason, "3 offenses within 1 d");
  EXPECT_FALSE(third.listed->manual);
  const auto stored = listing_at(t0 + 201);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->expires_at, t0 + 200 + 7 * day);
}

TEST_P(OffenderStoreTest, OffensesOutsideTheWindowDoNotCount) {
  record(offense(t0));
  record(offense(t0 + 10));
  const auto late = record(offense(t0 + day)); // the first is exactly one window old
  EXPECT_EQ(late.counting_in_window, 2u);
  EXPECT_FALSE(late.listed);
  const auto later = record(offense(t0 + day + 10));
  EXPECT_EQ(later.counting_in_window, 2u) << "the second left the window too";
  EXPECT_FALSE(later.newly_listed);
  EXPECT_FALSE(listing_at(t0 + day + 10));
}

TEST_P(OffenderStoreTest, OffensesAreCountedPerAddress) {
  record(offense(t0, "192.0.2.7"));
  record(offense(t0 + 1, "2001:db8::7"));
  const auto third = record(offense(t0 + 2, "192.0.2.8"));
  EXPECT_EQ(third.counting_in_window, 1u);
  EXPECT_FALSE(third.listed);
}

TEST_P(OffenderStoreTest, NonCountingOffensesAreKeptButNeverCount) {
  for (int i = 0; i < 5; ++i) {
    const auto o = record(offense(t0 + i, "192.0.2.7", false));
    EXPECT_EQ(o.counting_in_window, 0u);
    EXPECT_FALSE(o.listed);
  }
  auto kept = offenders().offenses("192.0.2.7", 0, 100);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept.value().size(), 5u) << "kept as evidence";
  EXPECT_FALSE(kept.value().front().counts);
  record(offense(t0 + 10));
  record(offense(t0 + 11));
  EXPECT_FALSE(listing_at(t0 + 11)) << "2 counting offenses, 5 that do not count";
  EXPECT_TRUE(record(offense(t0 + 12)).newly_listed);
}

TEST_P(OffenderStoreTest, ANonCountingOffenseNeverListsEvenAtTheThreshold) {
  record(offense(t0));
  record(offense(t0 + 1));
  record(offense(t0 + 2));
  ASSERT_TRUE(offenders().unlist("192.0.2.7").ok());
  const auto o = record(offense(t0 + 3, "192.0.2.7", false));
  EXPECT_EQ(o.counting_in_window, 3u);
  EXPECT_FALSE(o.listed) << "the threshold is reached, but this offense does not count";
}

TEST_P(OffenderStoreTest, ThresholdZeroNeverLists) {
  rules_.threshold = 0;
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(record(offense(t0 + i)).listed);
  }
}

TEST_P(OffenderStoreTest, AnExistingLongerListingIsNotShortened) {
  Listing manual{"192.0.2.7", t0 - 10, t0 + 365 * day, "known spammer", true};
  ASSERT_TRUE(offenders().list(manual).ok());
  record(offense(t0));
  record(offense(t0 + 1));
  const auto third = record(offense(t0 + 2));
  EXPECT_FALSE(third.newly_listed) << "it was listed before";
  ASSERT_TRUE(third.listed);
  EXPECT_EQ(third.listed->expires_at, t0 + 365 * day);
  EXPECT_EQ(third.listed->reason, "known spammer");
  EXPECT_TRUE(third.listed->manual);
  EXPECT_EQ(listing_at(t0 + 300 * day)->reason, "known spammer");
}

TEST_P(OffenderStoreTest, AListingWithoutEndIsNotShortened) {
  ASSERT_TRUE(offenders().list({"192.0.2.7", t0, 0, "forever", true}).ok());
  record(offense(t0));
  record(offense(t0 + 1));
  const auto third = record(offense(t0 + 2));
  ASSERT_TRUE(third.listed);
  EXPECT_EQ(third.listed->expires_at, 0);
  EXPECT_TRUE(listing_at(t0 + 3650 * day));
}

TEST_P(OffenderStoreTest, AShorterListingIsProlongedNotRenewed) {
  ASSERT_TRUE(offenders().list({"192.0.2.7", t0 - 5, t0 + 60, "added by hand", true}).ok());
  record(offense(t0));
  record(offense(t0 + 1));
  const auto third = record(offense(t0 + 2));
  EXPECT_FALSE(third.newly_listed);
  ASSERT_TRUE(third.listed);
  EXPECT_EQ(third.listed->listed_at, t0 - 5);
  EXPECT_EQ(third.listed->expires_at, t0 + 2 + 7 * day);
}

TEST_P(OffenderStoreTest, FurtherOffensesOfAListedAddressProlongIt) {
  record(offense(t0));
  record(offense(t0 + 1));
  EXPECT_TRUE(record(offense(t0 + 2)).newly_listed);
  const auto fourth = record(offense(t0 + 3));
  EXPECT_FALSE(fourth.newly_listed);
  ASSERT_TRUE(fourth.listed);
  EXPECT_EQ(fourth.listed->listed_at, t0 + 2);
  EXPECT_EQ(fourth.listed->expires_at, t0 + 3 + 7 * day);
}

TEST_P(OffenderStoreTest, ListingsExpire) {
  record(offense(t0));
  record(offense(t0 + 1));
  record(offense(t0 + 2));
  EXPECT_TRUE(listing_at(t0 + 2 + 7 * day - 1));
  EXPECT_FALSE(listing_at(t0 + 2 + 7 * day));
  auto all = offenders().listings(t0 + 2 + 7 * day);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all.value().empty());
  // Expired: a new offense that reaches the threshold lists anew.
  rules_.window = 30 * day;
  EXPECT_TRUE(record(offense(t0 + 8 * day)).newly_listed);
}

TEST_P(OffenderStoreTest, ManualListingAddReplaceRemove) {
  ASSERT_TRUE(offenders().list({"2001:db8::7", t0, t0 + day, "by hand", true}).ok());
  ASSERT_TRUE(offenders().list({"192.0.2.9", t0, 0, "forever", true}).ok());
  ASSERT_TRUE(offenders().list({"2001:db8::7", t0 + 5, t0 + 2 * day, "again", true}).ok());
  auto all = offenders().listings(t0 + day + 1);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 2u);
  EXPECT_EQ(all.value()[0].address, "192.0.2.9") << "ordered by address";
  EXPECT_EQ(all.value()[1].address, "2001:db8::7");
  EXPECT_EQ(all.value()[1].reason, "again") << "replaced";
  EXPECT_EQ(all.value()[1].expires_at, t0 + 2 * day);
  auto removed = offenders().unlist("2001:db8::7");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed.value());
  auto again = offenders().unlist("2001:db8::7");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value());
  EXPECT_FALSE(listing_at(t0, "2001:db8::7"));
}

TEST_P(OffenderStoreTest, OffensesNewestFirstWithTheirEvidence) {
  auto trap = offense(t0 + 50, "192.0.2.7");
  trap.kind = OffenseKind::TrapHit;
  trap.listener = "defer 127.0.0.9:25";
  trap.detail = "named example.org in RCPT";
  trap.ptr = "bot.example";
  record(offense(t0, "192.0.2.7"));
  record(trap);
  record(offense(t0 + 20, "198.51.100.1"));
  auto of_one = offenders().offenses("192.0.2.7", 0, 100);
  ASSERT_TRUE(of_one.ok());
  ASSERT_EQ(of_one.value().size(), 2u);
  const auto& newest = of_one.value()[0];
  EXPECT_EQ(newest.at, t0 + 50);
  EXPECT_EQ(newest.kind, OffenseKind::TrapHit);
  EXPECT_EQ(newest.listener, "defer 127.0.0.9:25");
  EXPECT_EQ(newest.helo, "bot.example");
  EXPECT_EQ(newest.sender_domain, "sender.test");
  EXPECT_EQ(newest.recipient_domain, "example.org");
  EXPECT_EQ(newest.detail, "named example.org in RCPT");
  EXPECT_EQ(newest.ptr, "bot.example");
  EXPECT_EQ(of_one.value()[1].kind, OffenseKind::PrimaryDeferral);
  auto every = offenders().offenses("", 0, 100);
  ASSERT_TRUE(every.ok());
  ASSERT_EQ(every.value().size(), 3u);
  EXPECT_EQ(every.value()[1].address, "198.51.100.1");
  auto since = offenders().offenses("", t0 + 20, 100);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(since.value().size(), 2u);
  auto limited = offenders().offenses("", 0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited.value().size(), 1u);
  EXPECT_EQ(limited.value()[0].at, t0 + 50);
}

TEST_P(OffenderStoreTest, RecordRetryCountsAndRestartsAfterForgetAfter) {
  const Triplet t{"192.0.2.0/24", "a@sender.test", "u@example.org"};
  auto first = offenders().record_retry(t, t0, 3600);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().attempts, 1u);
  EXPECT_EQ(first.value().first_at, t0);
  auto second = offenders().record_retry(t, t0 + 600, 3600);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value().attempts, 2u);
  EXPECT_EQ(second.value().first_at, t0);
  auto other =
      offenders().record_retry({"192.0.2.0/24", "b@sender.test", "u@example.org"}, t0 + 600, 3600);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.value().attempts, 1u) << "another sender is another triplet";
  auto third = offenders().record_retry(t, t0 + 3599, 3600);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.value().attempts, 3u);
  auto restarted = offenders().record_retry(t, t0 + 3600, 3600);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ(restarted.value().attempts, 1u) << "the first attempt is forget_after old";
  EXPECT_EQ(restarted.value().first_at, t0 + 3600);
}

TEST_P(OffenderStoreTest, EraseExpiredRemovesOnlyWhatIsOld) {
  SQLITE_ONLY("purging rows; Redis keys expire by their TTL (redis_store_test checks the TTLs)");
  rules_.keep_offenses = 10 * day;
  record(offense(t0));
  record(offense(t0 + 1));
  record(offense(t0 + 2));                       // listed until t0 + 2 + 7 d
  record(offense(t0 + 9 * day, "198.51.100.1")); // young evidence
  ASSERT_TRUE(offenders().list({"192.0.2.9", t0, 0, "forever", true}).ok());
  ASSERT_TRUE(offenders().record_retry({"n", "s", "r"}, t0, day).ok());
  ASSERT_TRUE(offenders().record_retry({"n2", "s", "r"}, t0 + 9 * day, 2 * day).ok());

  auto erased = offenders().erase_expired(t0 + 10 * day + 2, rules_);
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_EQ(erased.value(), 1u + 3u + 1u); // one listing, three offenses, one retry
  auto all = offenders().listings(0);      // expired rows too, if any were left
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 1u);
  EXPECT_EQ(all.value()[0].address, "192.0.2.9") << "a listing without end stays";
  auto left = offenders().offenses("", 0, 100);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left.value().size(), 1u);
  EXPECT_EQ(left.value()[0].address, "198.51.100.1");
  auto kept_retry = offenders().record_retry({"n2", "s", "r"}, t0 + 9 * day + 10, 2 * day);
  ASSERT_TRUE(kept_retry.ok());
  EXPECT_EQ(kept_retry.value().attempts, 2u) << "the young retry stayed";
}

TEST_P(OffenderStoreTest, EverythingSurvivesAReopen) {
  record(offense(t0));
  record(offense(t0 + 1));
  record(offense(t0 + 2));
  ASSERT_TRUE(offenders().record_retry({"n", "s", "r"}, t0, day).ok());
  reopen();
  EXPECT_TRUE(listing_at(t0 + 3));
  auto kept = offenders().offenses("192.0.2.7", 0, 100);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept.value().size(), 3u);
  auto retry = offenders().record_retry({"n", "s", "r"}, t0 + 5, day);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry.value().attempts, 2u);
}

TEST_P(OffenderStoreTest, AReadOnlyStoreReportsAnErrorAndListsNothing) {
  SQLITE_ONLY("a read-only SQLite file; Redis has no read-only open");
  record(offense(t0));
  store_.reset();
  auto opened = testing::open_test_store(GetParam(), dir_, true);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store_ = std::move(opened.value());
  auto failed = offenders().record(offense(t0 + 1), rules_);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::ReadOnly);
  auto kept = offenders().offenses("192.0.2.7", 0, 100);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept.value().size(), 1u) << "the failed record was rolled back";
}

TEST_P(OffenderStoreTest, TheFacadeReportsAwaitedAndPostedRecords) {
  testing::StoreThread thread;
  AsyncOffenderStore async(offenders(), thread.executor());
  rules_.threshold = 2;
  async.set_rules(rules_);
  std::vector<std::pair<std::string, bool>> reported; // address, newly listed
  async.set_report([&](const Offense& o, const Result<RecordOutcome>& outcome) {
    reported.emplace_back(o.address, outcome.ok() && outcome.value().newly_listed);
  });
  async.post_record(offense(t0));
  asio::io_context loop;
  std::optional<Result<RecordOutcome>> awaited;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        awaited.emplace(co_await async.record(offense(t0 + 1), std::chrono::seconds(5)));
      },
      asio::detached);
  loop.run();
  thread.drain();
  ASSERT_TRUE(awaited && awaited->ok());
  EXPECT_TRUE(awaited->value().newly_listed) << "the facade's rules: threshold 2";
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_FALSE(reported[0].second);
  EXPECT_TRUE(reported[1].second) << "the awaited record is reported too";
}

TEST(SecondsInWords, UsesTheLargestUnitThatDivides) {
  EXPECT_EQ(seconds_in_words(86400), "1 d");
  EXPECT_EQ(seconds_in_words(7 * 86400), "7 d");
  EXPECT_EQ(seconds_in_words(5400), "90 m");
  EXPECT_EQ(seconds_in_words(7200), "2 h");
  EXPECT_EQ(seconds_in_words(45), "45 s");
  EXPECT_EQ(seconds_in_words(0), "0 s");
}

INSTANTIATE_TEST_SUITE_P(Backends, OffenderStoreTest,
                         ::testing::ValuesIn(testing::store_backends()), testing::backend_name);

} // namespace
} // namespace backstop::state
