// redis_round_trips_test: what the Redis backend costs Redis per call (issue 16's benchmark,
// bench/redis_state.sh): commands counted with INFO commandstats and round trips with INFO
// stats (total_reads_processed) on the test's own redis-server, and the answers checked to
// be the ones the single calls give.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <map>
#include <string>

namespace backstop::state {
namespace {

constexpr std::int64_t t0 = 1700000000;
constexpr std::int64_t keep = 86400;

// Calls of each command since the server started (INFO commandstats), by lower-case name.
std::map<std::string, long long> command_calls(int port) {
  std::map<std::string, long long> calls;
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err != 0) {
    return calls;
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, "INFO commandstats"));
  if (r != nullptr && r->type == REDIS_REPLY_STRING) {
    const std::string text(r->str, r->len);
    std::size_t at = 0;
    while ((at = text.find("cmdstat_", at)) != std::string::npos) {
      const auto colon = text.find(':', at);
      const auto calls_at = text.find("calls=", colon);
      calls[text.substr(at + 8, colon - at - 8)] = std::stoll(text.substr(calls_at + 6));
      at = colon;
    }
  }
  freeReplyObject(r);
  redisFree(c);
  return calls;
}

// Read events Redis processed so far: one per round trip of a client (a pipeline arrives in
// one read); a closing INFO connection and each INFO count too.
long long reads_processed(int port) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err != 0) {
    return -1;
  }
  long long reads = -1;
  auto* r = static_cast<redisReply*>(redisCommand(c, "INFO stats"));
  if (r != nullptr && r->type == REDIS_REPLY_STRING) {
    const std::string text(r->str, r->len);
    const auto at = text.find("total_reads_processed:");
    if (at != std::string::npos) {
      reads = std::stoll(text.substr(at + 22));
    }
  }
  freeReplyObject(r);
  redisFree(c);
  return reads;
}

class RedisRoundTripsTest : public ::testing::Test {
protected:
  void SetUp() override {
    SKIP_UNLESS_BACKEND("redis");
    auto opened = testing::open_test_store("redis", "/nonexistent");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
  }
  long long delta(const std::map<std::string, long long>& before, const std::string& command) {
    auto after = command_calls(testing::RedisServer::shared().port);
    const auto was = before.find(command);
    return after[command] - (was == before.end() ? 0 : was->second);
  }
  std::unique_ptr<Store> store_;
};

// A contact batch is mostly one host's connections: that host's newest contact is read and
// written once per batch, not once per contact, and still ends at the newest of them all.
TEST_F(RedisRoundTripsTest, AContactBatchWritesEachHostsNewestContactOnce) {
  std::vector<Contact> batch;
  for (int i = 0; i < 50; ++i) { // out of order: the newest is in the middle
    batch.push_back(
        {"192.0.2." + std::to_string(i), "mx2.example.org", "listener smtp", t0 + (i * 7) % 50});
  }
  batch.push_back({"192.0.2.200", "mx3.example.org", "listener smtp", t0 + 3});
  const auto before = command_calls(testing::RedisServer::shared().port);
  ASSERT_TRUE(store_->contacts().record(batch, keep).ok());
  EXPECT_EQ(delta(before, "get"), 2) << "one read per host in the batch";
  EXPECT_EQ(delta(before, "set"), 2) << "one write per host in the batch";
  EXPECT_EQ(delta(before, "hset"), 51) << "still one row per contact";

  auto evidence = store_->contacts().evidence(
      "192.0.2.200", {"mx2.example.org", "mx3.example.org", "mx4.example.org"}, t0 + 60);
  ASSERT_TRUE(evidence.ok()) << evidence.error().message;
  ASSERT_EQ(evidence.value().size(), 3u);
  EXPECT_EQ(evidence.value()[0].anyone_last, t0 + 49);
  EXPECT_EQ(evidence.value()[0].client_last, 0);
  EXPECT_EQ(evidence.value()[1].anyone_last, t0 + 3);
  EXPECT_EQ(evidence.value()[1].client_last, t0 + 3);
  EXPECT_EQ(evidence.value()[2].anyone_last, 0);

  // An older batch later never moves a host's newest contact back.
  ASSERT_TRUE(
      store_->contacts().record({{"192.0.2.9", "mx2.example.org", "x", t0 + 5}}, keep).ok());
  auto again = store_->contacts().evidence("192.0.2.9", {"mx2.example.org"}, t0 + 60);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value()[0].anyone_last, t0 + 49);
  EXPECT_EQ(again.value()[0].client_last, t0 + 13); // its contact of the first batch
}

// Twenty sessions' blacklist reads at once: one pipelined round trip, the same answers as
// twenty single reads.
TEST_F(RedisRoundTripsTest, ListingReadsOfManySessionsAreOneRoundTrip) {
  auto& offenders = store_->offenders();
  ASSERT_TRUE(offenders.list({"192.0.2.3", t0 - 100, t0 + 3600, "listed"}).ok());
  ASSERT_TRUE(offenders.list({"192.0.2.5", t0 - 7200, t0 - 60, "expired"}).ok());
  std::vector<OffenderStore::ListingQuery> queries;
  for (int i = 0; i < 20; ++i) {
    queries.push_back({"192.0.2." + std::to_string(i), t0});
  }
  const int port = testing::RedisServer::shared().port;
  const auto before = reads_processed(port);
  auto all = offenders.listing_each(queries);
  const auto after = reads_processed(port);
  ASSERT_TRUE(all.ok()) << all.error().message;
  // One round trip, plus the INFO connections: the first one's close and the second INFO.
  EXPECT_LE(after - before, 3) << "twenty single reads would be twenty round trips";
  ASSERT_EQ(all.value().size(), queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    auto single = offenders.listing(queries[i].address, t0);
    ASSERT_TRUE(single.ok() && all.value()[i].ok());
    EXPECT_EQ(all.value()[i].value().has_value(), single.value().has_value()) << i;
    EXPECT_EQ(all.value()[i].value().has_value(), i == 3) << i;
  }
}

// Twenty sessions' skipped-primary evidence at once: one round trip, each client its own.
TEST_F(RedisRoundTripsTest, EvidenceReadsOfManySessionsAreOneRoundTrip) {
  auto& contacts = store_->contacts();
  ASSERT_TRUE(contacts.record({{"192.0.2.4", "mx1.example.org", "ingest", t0 - 30}}, keep).ok());
  std::vector<ContactStore::EvidenceQuery> queries;
  for (int i = 0; i < 20; ++i) {
    queries.push_back({"192.0.2." + std::to_string(i), {"mx1.example.org", "mx9.example.org"}, t0});
  }
  const int port = testing::RedisServer::shared().port;
  const auto before = reads_processed(port);
  auto all = contacts.evidence_each(queries);
  const auto after = reads_processed(port);
  ASSERT_TRUE(all.ok()) << all.error().message;
  // One round trip, plus the INFO connections: the first one's close and the second INFO.
  EXPECT_LE(after - before, 3) << "twenty single reads would be twenty round trips";
  ASSERT_EQ(all.value().size(), queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    ASSERT_TRUE(all.value()[i].ok());
    const auto& e = all.value()[i].value();
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].client_last, i == 4 ? t0 - 30 : 0) << i;
    EXPECT_EQ(e[0].anyone_last, t0 - 30);
    EXPECT_EQ(e[1].host, "mx9.example.org");
    EXPECT_EQ(e[1].anyone_last, 0);
  }
}

} // namespace
} // namespace backstop::state
