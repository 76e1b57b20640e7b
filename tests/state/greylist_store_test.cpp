// greylist_store_test: (every backend: state/store_backends.hpp) greylisting state in a real SQLite
// file in a temporary directory: a triplet's life (new, early, passed, expired), the network
// allowlist after N passes, known SPF-pass domains, purging, and that it all survives a reopen.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t t0 = 1700000000;

class GreylistStoreTest : public testing::BackendStoreTest {
protected:
  void SetUp() override {
    BackendStoreTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    rules_.delay = 300;
    rules_.retry_window = 3600;
    rules_.lifetime = 86400;
    rules_.allow_after = 0;
    rules_.allow_lifetime = 7 * 86400;
  }

  GreylistOutcome attempt(std::int64_t now, std::string network = "192.0.2.0/24",
                          std::string sender = "a@sender.test", bool spf_pass = false) {
    GreylistAttempt a;
    a.triplet = {std::move(network), sender, "u@example.test"};
    a.sender_domain = sender.substr(sender.find('@') + 1);
    a.spf_pass = spf_pass;
    a.now = now;
    auto got = store_->greylist().record_attempt(a, rules_);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : GreylistOutcome{};
  }

  GreylistRules rules_;
};

TEST_P(GreylistStoreTest, FirstAttemptIsNewAndNamesTheRetryTime) {
  const auto o = attempt(t0);
  EXPECT_EQ(o.status, GreylistStatus::New);
  EXPECT_EQ(o.retry_at, t0 + 300);
  EXPECT_EQ(o.triplet.first_seen, t0);
  EXPECT_EQ(o.triplet.passes, 0u);
  EXPECT_EQ(o.triplet.expires_at, t0 + 3600);
}

TEST_P(GreylistStoreTest, RetryBeforeTheDelayIsEarlyAndKeepsFirstSeen) {
  attempt(t0);
  const auto o = attempt(t0 + 299);
  EXPECT_EQ(o.status, GreylistStatus::Early);
  EXPECT_EQ(o.retry_at, t0 + 300);
  EXPECT_EQ(o.triplet.first_seen, t0);
  EXPECT_EQ(o.triplet.last_seen, t0 + 299);
}

TEST_P(GreylistStoreTest, RetryAfterTheDelayPassesAndLivesForLifetime) {
  attempt(t0);
  const auto o = attempt(t0 + 300);
  EXPECT_EQ(o.status, GreylistStatus::Passed);
  EXPECT_EQ(o.triplet.passes, 1u);
  EXPECT_EQ(o.triplet.expires_at, t0 + 300 + 86400);
  const auto again = attempt(t0 + 300 + 86399);
  EXPECT_EQ(again.status, GreylistStatus::Passed) << "a pass extends the lifetime";
  EXPECT_EQ(again.triplet.passes, 2u);
}

TEST_P(GreylistStoreTest, UnretriedTripletIsForgottenAfterTheRetryWindow) {
  attempt(t0);
  const auto o = attempt(t0 + 3600);
  EXPECT_EQ(o.status, GreylistStatus::New);
  EXPECT_EQ(o.triplet.first_seen, t0 + 3600);
}

TEST_P(GreylistStoreTest, PassedTripletExpiresAfterLifetimeWithoutUse) {
  attempt(t0);
  attempt(t0 + 300);
  EXPECT_EQ(attempt(t0 + 300 + 86400).status, GreylistStatus::New);
}

TEST_P(GreylistStoreTest, TripletsAreSeparatePerNetworkAndSender) {
  attempt(t0);
  EXPECT_EQ(attempt(t0 + 300, "198.51.100.0/24").status, GreylistStatus::New);
  EXPECT_EQ(attempt(t0 + 300, "192.0.2.0/24", "b@sender.test").status, GreylistStatus::New);
  EXPECT_EQ(attempt(t0 + 300).status, GreylistStatus::Passed);
}

TEST_P(GreylistStoreTest, NetworkIsAllowlistedAfterNPasses) {
  rules_.allow_after = 2;
  attempt(t0, "192.0.2.0/24", "a@one.test");
  auto first = attempt(t0 + 300, "192.0.2.0/24", "a@one.test");
  EXPECT_EQ(first.network_passes, 1u);
  EXPECT_EQ(first.allowed_until, 0);
  auto second = attempt(t0 + 400, "192.0.2.0/24", "a@one.test");
  EXPECT_EQ(second.network_passes, 2u);
  EXPECT_EQ(second.allowed_until, t0 + 400 + rules_.allow_lifetime);
  const auto fresh = attempt(t0 + 500, "192.0.2.0/24", "new@other.test");
  EXPECT_EQ(fresh.status, GreylistStatus::NetworkAllowed) << "a new triplet of that network";
  EXPECT_EQ(attempt(t0 + 500, "198.51.100.0/24", "new@other.test").status, GreylistStatus::New);
}

TEST_P(GreylistStoreTest, NetworkAllowlistEndsAfterItsLifetimeUnused) {
  rules_.allow_after = 1;
  attempt(t0);
  attempt(t0 + 300);
  const std::int64_t later = t0 + 300 + rules_.allow_lifetime;
  EXPECT_EQ(attempt(later, "192.0.2.0/24", "new@other.test").status, GreylistStatus::New);
}

TEST_P(GreylistStoreTest, KnownDomainSkipsOnlyWithSpfPassAndWhenRemembered) {
  rules_.remember_domains = true;
  attempt(t0, "192.0.2.0/24", "a@sender.test", true);
  ASSERT_EQ(attempt(t0 + 300, "192.0.2.0/24", "a@sender.test", true).status,
            GreylistStatus::Passed);
  EXPECT_EQ(attempt(t0 + 400, "203.0.113.0/24", "b@sender.test", true).status,
            GreylistStatus::DomainKnown);
  EXPECT_EQ(attempt(t0 + 400, "203.0.113.0/24", "c@sender.test", false).status, GreylistStatus::New)
      << "without SPF pass the domain does not help";
  rules_.remember_domains = false;
  EXPECT_EQ(attempt(t0 + 400, "203.0.113.0/24", "d@sender.test", true).status, GreylistStatus::New);
}

TEST_P(GreylistStoreTest, PassWithoutSpfPassDoesNotMakeTheDomainKnown) {
  rules_.remember_domains = true;
  attempt(t0);
  attempt(t0 + 300);
  EXPECT_EQ(attempt(t0 + 400, "203.0.113.0/24", "b@sender.test", true).status, GreylistStatus::New);
}

TEST_P(GreylistStoreTest, StateSurvivesReopen) {
  attempt(t0);
  reopen();
  EXPECT_EQ(attempt(t0 + 300).status, GreylistStatus::Passed);
}

TEST_P(GreylistStoreTest, EraseExpiredRemovesOnlyDeadRecords) {
  SQLITE_ONLY("purging rows; Redis keys expire by their TTL (redis_store_test checks the TTLs)");
  rules_.allow_after = 1;
  attempt(t0, "192.0.2.0/24");           // expires t0+3600 unretried
  attempt(t0 + 1000, "198.51.100.0/24"); // expires t0+4600
  auto erased = store_->greylist().erase_expired(t0 + 3600);
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_EQ(erased.value(), 1u);
  EXPECT_EQ(attempt(t0 + 1300, "198.51.100.0/24").status, GreylistStatus::Passed);
}

TEST_P(GreylistStoreTest, ReadOnlyStoreRefusesAttemptsAsReadOnly) {
  SQLITE_ONLY("a read-only SQLite file; Redis has no read-only open");
  attempt(t0);
  auto reader = testing::open_test_store(GetParam(), dir_, true);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  GreylistAttempt a{{"192.0.2.0/24", "x@y.test", "u@example.test"}, "y.test", false, t0};
  auto got = reader.value()->greylist().record_attempt(a, rules_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::ReadOnly) << got.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, GreylistStoreTest,
                         ::testing::ValuesIn(testing::store_backends()), testing::backend_name);

} // namespace
} // namespace backstop::state
