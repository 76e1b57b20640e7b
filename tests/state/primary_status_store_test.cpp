// primary_status_store_test: (every backend: state/store_backends.hpp) the monitor's state and
// history in a real SQLite file: each change updates the host's current state and is appended to
// the history, old history is dropped, both survive a reopen, and the history reads by domain and
// time.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t t0 = 1795392000;

class PrimaryStatusStoreTest : public testing::BackendStoreTest {
protected:
  PrimaryStatusStore& status() { return store_->primary_status(); }
  void change(const std::string& domain, const std::string& from, const std::string& to,
              std::int64_t at, std::int64_t keep = 86400) {
    auto done =
        status().record_change({domain, "mx1." + domain, from, to, at, from + "->" + to}, keep);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }
};

TEST_P(PrimaryStatusStoreTest, ChangesSetTheCurrentStateAndAreKeptInOrder) {
  change("example.test", "unknown", "up", t0);
  change("example.test", "up", "down", t0 + 60);
  auto current = status().current();
  ASSERT_TRUE(current.ok());
  ASSERT_EQ(current.value().size(), 1u);
  EXPECT_EQ(current.value()[0].host, "mx1.example.test");
  EXPECT_EQ(current.value()[0].state, "down");
  EXPECT_EQ(current.value()[0].since, t0 + 60);
  auto history = status().history("", 0, 100);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history.value().size(), 2u);
  EXPECT_EQ(history.value()[0].to, "up");
  EXPECT_EQ(history.value()[1].from, "up");
  EXPECT_EQ(history.value()[1].to, "down");
  EXPECT_EQ(history.value()[1].at, t0 + 60);
  EXPECT_EQ(history.value()[1].reason, "up->down");
}

TEST_P(PrimaryStatusStoreTest, SurvivesAReopen) {
  change("example.test", "unknown", "up", t0);
  reopen();
  auto current = status().current();
  ASSERT_TRUE(current.ok());
  ASSERT_EQ(current.value().size(), 1u);
  EXPECT_EQ(current.value()[0].state, "up");
  EXPECT_EQ(status().history("example.test", 0, 10).value().size(), 1u);
}

TEST_P(PrimaryStatusStoreTest, HistoryByDomainAndSinceAndOldHistoryDropped) {
  change("a.test", "unknown", "up", t0, 100);
  change("b.test", "unknown", "down", t0 + 50, 100);
  change("a.test", "up", "down", t0 + 200, 100); // drops what is older than t0 + 100
  auto all = status().history("", 0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 1u);
  EXPECT_EQ(all.value()[0].domain, "a.test");
  change("b.test", "down", "up", t0 + 210, 100);
  EXPECT_EQ(status().history("b.test", 0, 10).value().size(), 1u);
  EXPECT_EQ(status().history("", t0 + 205, 10).value().size(), 1u);
  EXPECT_EQ(status().current().value().size(), 2u) << "current states are never dropped";
}

INSTANTIATE_TEST_SUITE_P(Backends, PrimaryStatusStoreTest,
                         ::testing::ValuesIn(testing::store_backends()), testing::backend_name);

} // namespace
} // namespace backstop::state
