// redis_store_test: what only the Redis backend has: keys with TTLs, offenses recorded by two
// hosts (two connections) at once counted exactly, and a Redis that goes away: each call fails
// as Unavailable at once (the circuit breaker), one transition is reported, and the store
// works again after Redis is back.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <thread>

namespace backstop::state {
namespace {

constexpr std::int64_t t0 = 1700000000;

class RedisStoreTest : public ::testing::Test {
protected:
  void SetUp() override { SKIP_UNLESS_BACKEND("redis"); }
  std::unique_ptr<Store> open() {
    auto opened = testing::open_test_store("redis", "/nonexistent");
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
    return opened.ok() ? std::move(opened.value()) : nullptr;
  }
  long long ttl(const std::string& key) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", testing::RedisServer::shared().port, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "TTL %s", key.c_str()));
    const long long v = r != nullptr ? r->integer : -3;
    freeReplyObject(r);
    redisFree(c);
    return v;
  }
};

TEST_F(RedisStoreTest, KeysWithALifetimeHaveATtl) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->verify()
                  .put_verify({"u@example.test", VerifyResult::Valid, "250 ok", t0, t0 + 3600})
                  .ok());
  GreylistRules rules;
  rules.retry_window = 7200;
  ASSERT_TRUE(store->greylist()
                  .record_attempt(
                      {{"192.0.2.0/24", "a@s.test", "u@example.test"}, "s.test", false, t0}, rules)
                  .ok());
  const std::string prefix = testing::test_key_prefix();
  const auto verify_ttl = ttl(prefix + "v:u@example.test");
  EXPECT_GT(verify_ttl, 3500);
  EXPECT_LE(verify_ttl, 3600);
  const auto triplet_ttl = ttl(prefix + "g:t:192.0.2.0/24|a@s.test|u@example.test");
  EXPECT_GT(triplet_ttl, 7100);
  EXPECT_LE(triplet_ttl, 7200);
}

TEST_F(RedisStoreTest, TwoHostsRecordingAtOnceNeverLoseOrDoubleCount) {
  auto first = open();
  auto second = open(); // another connection: another backstop host
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  BlacklistRules rules;
  rules.threshold = 150;
  rules.window = 86400;
  std::atomic<int> newly{0};
  auto hammer = [&](Store* store, int offset) {
    for (int i = 0; i < 100; ++i) {
      Offense o;
      o.address = "192.0.2.7";
      o.at = t0 + offset + 2 * i;
      auto got = store->offenders().record(o, rules);
      ASSERT_TRUE(got.ok()) << got.error().message;
      newly += got.value().newly_listed ? 1 : 0;
    }
  };
  std::thread a(hammer, first.get(), 0);
  std::thread b(hammer, second.get(), 1);
  a.join();
  b.join();
  auto all = first->offenders().offenses("192.0.2.7", 0, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.value().size(), 200u);
  EXPECT_EQ(newly.load(), 1) << "exactly one record reached the threshold";
  auto listed = second->offenders().listing("192.0.2.7", t0 + 200);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed.value().has_value());
}

TEST_F(RedisStoreTest, RedisGoneFailsFastAsUnavailableAndRecovers) {
  auto& shared = testing::RedisServer::shared();
  (void)shared;
  testing::RedisServer own; // this test kills its own server, not the shared one
  ASSERT_NE(own.port, 0) << own.why;
  std::vector<bool> transitions;
  auto options = testing::test_store_options("redis", "/nonexistent");
  options.url = "redis://127.0.0.1:" + std::to_string(own.port) + "/0";
  options.timeout = std::chrono::milliseconds(50);
  options.health = [&](bool up, const std::string&) { transitions.push_back(up); };
  auto opened = open_store(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& verify = opened.value()->verify();
  ASSERT_TRUE(verify.put_verify({"u@example.test", VerifyResult::Valid, "250", t0, t0 + 60}).ok());
  own.stop();
  auto failed = verify.get_verify("u@example.test", t0);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::Unavailable) << failed.error().message;
  const auto before = std::chrono::steady_clock::now();
  auto again = verify.get_verify("u@example.test", t0);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("retrying later"), std::string::npos)
      << again.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(5));
  EXPECT_EQ(transitions, std::vector<bool>({false})) << "one line for the outage";
  own.start_on(own.last_port);
  for (int i = 0; i < 100; ++i) {
    if (verify.put_verify({"u@example.test", VerifyResult::Valid, "250", t0, t0 + 60}).ok()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto back = verify.get_verify("u@example.test", t0);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back.value().has_value());
  EXPECT_EQ(transitions, std::vector<bool>({false, true}));
}

} // namespace
} // namespace backstop::state
