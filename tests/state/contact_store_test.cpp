// contact_store_test: (every backend: state/store_backends.hpp) MX contacts in a real SQLite file
// in a temporary directory: counting per (address, host, source), contacts out of order, the
// evidence per host (the client's and anyone's newest contact), lifetimes and purging, the ingest
// position moved with its batch, a reopen, and the awaitable facade (posted records, the pending
// bound).
#include "state/async_contact_store.hpp"
#include "state/store.hpp"
#include "state/store_backends.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t t0 = 1700000000;
constexpr std::int64_t keep = 86400;

asio::awaitable<void> ask_evidence(AsyncContactStore* async,
                                   std::optional<Result<std::vector<HostEvidence>>>* out) {
  std::vector<std::string> hosts{std::string("mx2.example.org")};
  *out = co_await async->evidence("192.0.2.1", hosts, t0, 2000ms);
}

class ContactStoreTest : public testing::BackendStoreTest {
protected:
  ContactStore& contacts() { return store_->contacts(); }
  void record(std::vector<Contact> batch) {
    auto done = contacts().record(batch, keep);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }
  std::vector<ContactHistory> of(const std::string& address, std::int64_t now = t0) {
    auto got = contacts().contacts(address, now);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : std::vector<ContactHistory>{};
  }
  std::vector<HostEvidence> evidence(const std::string& address, std::vector<std::string> hosts,
                                     std::int64_t now = t0) {
    auto got = contacts().evidence(address, hosts, now);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : std::vector<HostEvidence>{};
  }
};

TEST_P(ContactStoreTest, UnknownAddressHasNoContacts) { EXPECT_TRUE(of("192.0.2.1").empty()); }

TEST_P(ContactStoreTest, RepeatedContactsAreCountedInOneRowWithFirstAndLastTime) {
  record({{"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0}});
  record({{"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0 + 60}});
  record({{"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0 + 30}});
  const auto rows = of("192.0.2.1");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].host, "mx2.example.org");
  EXPECT_EQ(rows[0].source, "listener smtp 127.0.0.2:25");
  EXPECT_EQ(rows[0].first_at, t0);
  EXPECT_EQ(rows[0].last_at, t0 + 60) << "an older contact arriving late does not move it back";
  EXPECT_EQ(rows[0].count, 3U);
  EXPECT_EQ(rows[0].expires_at, t0 + 60 + keep);
}

TEST_P(ContactStoreTest, HostsAndSourcesAreApartAndNewestComesFirst) {
  record({{"192.0.2.1", "mx1.example.org", "ingest postfix", t0 - 100},
          {"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0 - 10},
          {"192.0.2.1", "mx1.example.org", "ingest exim", t0 - 50},
          {"192.0.2.2", "mx1.example.org", "ingest postfix", t0 - 5}});
  const auto rows = of("192.0.2.1");
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].host, "mx2.example.org");
  EXPECT_EQ(rows[1].source, "ingest exim");
  EXPECT_EQ(rows[2].source, "ingest postfix");
  EXPECT_EQ(of("192.0.2.2").size(), 1U);
}

TEST_P(ContactStoreTest, EvidenceGivesTheClientsAndAnyonesNewestContactPerHost) {
  record({{"192.0.2.1", "mx1.example.org", "ingest postfix", t0 - 7200},
          {"192.0.2.2", "mx1.example.org", "ingest postfix", t0 - 60},
          {"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0}});
  const auto e = evidence("192.0.2.1", {"mx1.example.org", "mx0.example.org"});
  ASSERT_EQ(e.size(), 2U);
  EXPECT_EQ(e[0].host, "mx1.example.org");
  EXPECT_EQ(e[0].client_last, t0 - 7200);
  EXPECT_EQ(e[0].anyone_last, t0 - 60);
  EXPECT_EQ(e[1].host, "mx0.example.org");
  EXPECT_EQ(e[1].client_last, 0);
  EXPECT_EQ(e[1].anyone_last, 0);
  const auto stranger = evidence("192.0.2.9", {"mx1.example.org"});
  ASSERT_EQ(stranger.size(), 1U);
  EXPECT_EQ(stranger[0].client_last, 0);
  EXPECT_EQ(stranger[0].anyone_last, t0 - 60);
}

TEST_P(ContactStoreTest, ExpiredContactsAreIgnoredAndPurged) {
  record({{"192.0.2.1", "mx1.example.org", "ingest postfix", t0},
          {"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0 + 1000}});
  const std::int64_t later = t0 + keep; // the first row's last second has passed
  const auto rows = of("192.0.2.1", later);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].host, "mx2.example.org");
  const auto e = evidence("192.0.2.1", {"mx1.example.org"}, later);
  EXPECT_EQ(e.at(0).client_last, 0);
  EXPECT_EQ(e.at(0).anyone_last, 0);
  if (GetParam() != "sqlite") {
    return; // Redis keys expire by their TTL: nothing to purge (redis_store_test checks TTLs)
  }
  auto purged = contacts().erase_expired(later);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_EQ(purged.value(), 2U) << "the contact row and its host's newest contact";
  EXPECT_EQ(of("192.0.2.1", t0).size(), 1U) << "what was purged is gone, not just hidden";
}

TEST_P(ContactStoreTest, IngestPositionMovesWithItsBatchAndSurvivesAReopen) {
  auto none = contacts().position("/var/log/mail.log");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().has_value());
  IngestPosition p{"/var/log/mail.log", 2049, 1234, 4096};
  auto done =
      contacts().record_ingested({{"192.0.2.1", "mx1.example.org", "ingest postfix", t0}}, keep, p);
  ASSERT_TRUE(done.ok()) << done.error().message;
  p.offset = 8192;
  ASSERT_TRUE(contacts().record_ingested({}, keep, p).ok());
  reopen();
  auto got = contacts().position("/var/log/mail.log");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(got.value()->device, 2049U);
  EXPECT_EQ(got.value()->inode, 1234U);
  EXPECT_EQ(got.value()->offset, 8192U);
  EXPECT_EQ(of("192.0.2.1").size(), 1U);
}

TEST_P(ContactStoreTest, FacadePostsRecordsAndAwaitsEvidence) {
  testing::StoreThread thread;
  AsyncContactStore async(contacts(), thread.executor(), keep);
  async.post_record({"192.0.2.1", "mx2.example.org", "listener smtp 127.0.0.2:25", t0});
  thread.drain();
  EXPECT_EQ(of("192.0.2.1").size(), 1U);
  asio::io_context loop;
  std::optional<Result<std::vector<HostEvidence>>> got;
  asio::co_spawn(loop, ask_evidence(&async, &got), asio::detached);
  loop.run();
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(got->value().at(0).client_last, t0);
}

TEST_P(ContactStoreTest, FacadeDropsRecordsBeyondItsPendingBound) {
  testing::StoreThread thread;
  AsyncContactStore async(contacts(), thread.executor(), keep, 2);
  std::promise<void> release;
  auto released = release.get_future().share();
  asio::post(thread.executor(), [released] { released.wait(); }); // the store thread is busy
  for (int i = 0; i < 5; ++i) {
    async.post_record({"192.0.2." + std::to_string(i + 1), "mx2.example.org", "test", t0});
  }
  EXPECT_EQ(async.dropped(), 3U);
  release.set_value();
  thread.drain();
  EXPECT_EQ(of("192.0.2.1").size(), 1U);
  EXPECT_EQ(of("192.0.2.2").size(), 1U);
  EXPECT_TRUE(of("192.0.2.3").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ContactStoreTest, ::testing::ValuesIn(testing::store_backends()),
                         testing::backend_name);

} // namespace
} // namespace backstop::state
