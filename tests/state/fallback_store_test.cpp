// fallback_store_test: the Redis backend with its local fallback (state/fallback_store.hpp)
// over a real redis-server of the test's own, killed and started again: while Redis is down
// every concern answers from the local SQLite file (a greylist triplet never seen locally is
// new: deferred), the writes learned meanwhile are journaled and appear in Redis, with their
// TTLs, once it answers again; a full journal drops its oldest writes and says so.
#include "state/fallback_store.hpp"
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <map>
#include <thread>

namespace backstop::state {
namespace {

constexpr std::int64_t t0 = 1700000000;

VerifyEntry entry_for(const std::string& address) {
  const auto now = static_cast<std::int64_t>(::time(nullptr));
  return {address, VerifyResult::Invalid, "550 no such user", now, now + 3600};
}

class FallbackStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    SKIP_UNLESS_BACKEND("redis");
    ASSERT_NE(redis_.port, 0) << redis_.why;
    dir_ = std::filesystem::temp_directory_path() /
           ("backstop-fallback-" + std::to_string(::getpid()) + "-" + testing::test_dir_name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open(std::size_t journal_limit = 10000) {
    auto options = testing::test_store_options("redis", dir_);
    options.url = "redis://127.0.0.1:" + std::to_string(redis_.port) + "/0";
    options.timeout = std::chrono::milliseconds(200);
    options.fallback.enabled = true;
    options.fallback.journal_limit = journal_limit;
    options.fallback.switched = [this](bool local, const std::string& why) {
      switches_.push_back(local);
      last_why_ = why;
    };
    options.fallback.count = [this](FallbackCount what, std::uint64_t n) { counts_[what] += n; };
    options.fallback.journal_full = [this](std::size_t) { ++full_reports_; };
    auto opened = open_store(options);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
    return opened.ok() ? std::move(opened.value()) : nullptr;
  }

  // The same Redis without a fallback: what the other hosts see.
  std::unique_ptr<Store> open_plain() {
    auto options = testing::test_store_options("redis", dir_);
    options.url = "redis://127.0.0.1:" + std::to_string(redis_.port) + "/0";
    auto opened = open_store(options);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
    return opened.ok() ? std::move(opened.value()) : nullptr;
  }

  // Calls into the store until Redis answers and the journal is written through.
  bool wait_for_redis(Store& store) {
    for (int i = 0; i < 200; ++i) {
      (void)store.verify().get_verify("nobody@example.test", t0);
      if (!switches_.empty() && !switches_.back()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  long long ttl(const std::string& key) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", redis_.port, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "TTL %s", key.c_str()));
    const long long v = r != nullptr ? r->integer : -3;
    freeReplyObject(r);
    redisFree(c);
    return v;
  }

  testing::RedisServer redis_; // this test's own: it is killed
  std::filesystem::path dir_;
  std::vector<bool> switches_;
  std::string last_why_;
  std::map<FallbackCount, std::uint64_t> counts_;
  int full_reports_ = 0;
};

TEST_F(FallbackStoreTest, RedisDownEveryConcernAnswersFromTheLocalStore) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->verify().put_verify(entry_for("before@example.test")).ok());
  EXPECT_TRUE(switches_.empty());
  redis_.stop();

  auto unknown = store->verify().get_verify("before@example.test", t0);
  ASSERT_TRUE(unknown.ok()) << "a miss, not an error: " << unknown.error().message;
  EXPECT_FALSE(unknown.value().has_value()) << "Redis' answer was never in the local file";
  ASSERT_TRUE(store->verify().put_verify(entry_for("during@example.test")).ok());
  auto learned = store->verify().get_verify("during@example.test", t0);
  ASSERT_TRUE(learned.ok());
  ASSERT_TRUE(learned.value().has_value());
  EXPECT_EQ(learned.value()->result, VerifyResult::Invalid);

  GreylistRules rules;
  auto first = store->greylist().record_attempt(
      {{"192.0.2.0/24", "a@s.test", "u@example.test"}, "s.test", false, t0}, rules);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first.value().status, GreylistStatus::New) << "never seen locally: deferred";
  auto retried = store->greylist().record_attempt(
      {{"192.0.2.0/24", "a@s.test", "u@example.test"}, "s.test", false, t0 + rules.delay + 1},
      rules);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried.value().status, GreylistStatus::Passed) << "the local greylist remembers";

  Offense offense;
  offense.address = "192.0.2.7";
  offense.at = t0;
  BlacklistRules blacklist;
  blacklist.threshold = 1;
  auto recorded = store->offenders().record(offense, blacklist);
  ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  EXPECT_TRUE(recorded.value().newly_listed);
  auto listed = store->offenders().listing("192.0.2.7", t0 + 1);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed.value().has_value()) << "listed locally";

  EXPECT_EQ(switches_, std::vector<bool>({true})) << "one switch for the outage";
  EXPECT_GE(counts_[FallbackCount::AnsweredLocally], 7u);
  EXPECT_EQ(counts_[FallbackCount::Journaled], 2u) << "the verify answer and the offense";
}

TEST_F(FallbackStoreTest, WhatWasLearnedLocallyIsWrittenThroughOnceRedisIsBack) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  redis_.stop();
  ASSERT_TRUE(store->verify().put_verify(entry_for("during@example.test")).ok());
  Offense offense;
  offense.address = "192.0.2.8";
  offense.at = static_cast<std::int64_t>(::time(nullptr));
  offense.kind = OffenseKind::TrapHit;
  ASSERT_TRUE(store->offenders().record(offense, BlacklistRules{}).ok());
  ASSERT_TRUE(store->contacts()
                  .record({{"192.0.2.8", "mx1.example.test", "listener smtp", offense.at}}, 3600)
                  .ok());
  ASSERT_EQ(switches_, std::vector<bool>({true}));

  redis_.start_on(redis_.last_port);
  ASSERT_TRUE(wait_for_redis(*store)) << "the journal was not written through";
  EXPECT_EQ(switches_, std::vector<bool>({true, false}));
  EXPECT_NE(last_why_.find("3 writes learned locally written through"), std::string::npos)
      << last_why_;
  EXPECT_EQ(counts_[FallbackCount::Replayed], 3u);

  const auto key_ttl = ttl(testing::test_key_prefix() + "v:during@example.test");
  EXPECT_GT(key_ttl, 3500) << "the key is in Redis with its lifetime";
  EXPECT_LE(key_ttl, 3600);
  auto other_host = open_plain();
  ASSERT_NE(other_host, nullptr);
  auto seen = other_host->verify().get_verify("during@example.test", offense.at);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  ASSERT_TRUE(seen.value().has_value());
  EXPECT_EQ(seen.value()->reply, "550 no such user");
  auto offenses = other_host->offenders().offenses("192.0.2.8", 0, 10);
  ASSERT_TRUE(offenses.ok());
  ASSERT_EQ(offenses.value().size(), 1u);
  EXPECT_EQ(offenses.value()[0].kind, OffenseKind::TrapHit);
  auto contacts = other_host->contacts().contacts("192.0.2.8", offense.at);
  ASSERT_TRUE(contacts.ok());
  EXPECT_EQ(contacts.value().size(), 1u);

  // Redis answers again: new calls go there, not to the local file.
  ASSERT_TRUE(other_host->verify().put_verify(entry_for("after@example.test")).ok());
  auto after = store->verify().get_verify("after@example.test", offense.at);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after.value().has_value()) << "answered by Redis";
}

TEST_F(FallbackStoreTest, AFullJournalDropsItsOldestWritesAndSaysSo) {
  auto store = open(3);
  ASSERT_NE(store, nullptr);
  redis_.stop();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store->verify().put_verify(entry_for("u" + std::to_string(i) + "@example.test")).ok());
  }
  EXPECT_EQ(counts_[FallbackCount::Dropped], 2u);
  EXPECT_EQ(full_reports_, 1) << "one report per outage";
  redis_.start_on(redis_.last_port);
  ASSERT_TRUE(wait_for_redis(*store));
  EXPECT_NE(last_why_.find("3 writes learned locally written through, 2 dropped"),
            std::string::npos)
      << last_why_;
  const auto prefix = testing::test_key_prefix();
  EXPECT_EQ(ttl(prefix + "v:u0@example.test"), -2) << "the oldest was dropped";
  EXPECT_EQ(ttl(prefix + "v:u1@example.test"), -2);
  for (int i = 2; i < 5; ++i) {
    EXPECT_GT(ttl(prefix + "v:u" + std::to_string(i) + "@example.test"), 0) << i;
  }
}

TEST_F(FallbackStoreTest, ANewerAnswerOfAnotherHostIsNotOverwritten) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  redis_.stop();
  auto old = entry_for("u@example.test");
  old.checked_at -= 60;
  ASSERT_TRUE(store->verify().put_verify(old).ok());
  redis_.start_on(redis_.last_port);
  auto other_host = open_plain();
  ASSERT_NE(other_host, nullptr);
  auto newer = entry_for("u@example.test");
  newer.result = VerifyResult::Valid;
  newer.reply = "250 ok";
  ASSERT_TRUE(other_host->verify().put_verify(newer).ok());
  ASSERT_TRUE(wait_for_redis(*store));
  auto seen = other_host->verify().get_verify("u@example.test", newer.checked_at);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen.value().has_value());
  EXPECT_EQ(seen.value()->reply, "250 ok");
}

TEST_F(FallbackStoreTest, TheCliAsksRedisOnly) {
  auto options = testing::test_store_options("redis", dir_);
  options.url = "redis://127.0.0.1:" + std::to_string(redis_.port) + "/0";
  auto opened = open_store(options); // fallback.enabled is false unless the server sets it
  ASSERT_TRUE(opened.ok());
  redis_.stop();
  auto failed = opened.value()->verify().get_verify("u@example.test", t0);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::Unavailable);
}

TEST_F(FallbackStoreTest, AServerStartsWhileRedisIsUnreachableAndWritesThroughLater) {
  const int port = redis_.last_port;
  redis_.stop();
  auto options = testing::test_store_options("redis", dir_);
  options.url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  options.timeout = std::chrono::milliseconds(200);
  auto cli = open_store(options);
  ASSERT_FALSE(cli.ok()) << "without a local store to fall back on, Redis must answer";

  options.fallback.enabled = true;
  options.fallback.switched = [this](bool local, const std::string& why) {
    switches_.push_back(local);
    last_why_ = why;
  };
  auto opened = open_store(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& store = *opened.value();
  ASSERT_TRUE(store.verify().put_verify(entry_for("early@example.test")).ok());
  auto local = store.verify().get_verify("early@example.test", t0);
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local.value().has_value()) << "answered by the local store";
  ASSERT_EQ(switches_, std::vector<bool>({true}));

  redis_.start_on(port);
  ASSERT_TRUE(wait_for_redis(store)) << "the journal was not written through";
  EXPECT_GT(ttl(testing::test_key_prefix() + "v:early@example.test"), 3500);
}

TEST_F(FallbackStoreTest, ARedisThatRefusesThePasswordStopsTheStartEvenWithAFallback) {
  auto options = testing::test_store_options("redis", dir_);
  options.url = "redis://127.0.0.1:" + std::to_string(redis_.port) + "/0";
  options.password = "not-the-password"; // this Redis has none: AUTH is refused
  options.fallback.enabled = true;
  auto opened = open_store(options);
  EXPECT_FALSE(opened.ok()) << "a refused password is a configuration error, not an outage";
}

} // namespace
} // namespace backstop::state
