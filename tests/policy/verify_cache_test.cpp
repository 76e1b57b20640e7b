// verify_cache_test: the cache of primaries' answers over a real SQLite store served by its
// own thread, with a manual clock: lifetimes, the store behind memory (a restart keeps the
// answers), forgetting, the refresh rules and the memory bound.
#include "policy/verify_cache.hpp"
#include "state/store.hpp"
#include "state/store_thread.hpp"

#include <atomic>
#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

namespace backstop::policy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using state::VerifyResult;

using state::testing::StoreThread;

// A store that fails every call, as a locked or broken database would.
class FailingStore final : public state::VerifyStore {
public:
  static state::Error broken() { return {state::ErrorKind::Unavailable, "broken"}; }
  state::Result<std::optional<state::VerifyEntry>> get_verify(const std::string&,
                                                              std::int64_t) override {
    return broken();
  }
  state::Status put_verify(const state::VerifyEntry&) override { return broken(); }
  state::Result<std::vector<state::VerifyEntry>> list_verify(std::int64_t) override {
    return broken();
  }
  state::Result<std::size_t> erase_verify(const std::string&) override { return broken(); }
  state::Result<std::size_t> erase_expired(std::int64_t) override { return broken(); }
};

// The real store, counting the reads that reach it.
class CountingStore final : public state::VerifyStore {
public:
  explicit CountingStore(state::VerifyStore& inner) : inner_(inner) {}
  state::Result<std::optional<state::VerifyEntry>> get_verify(const std::string& key,
                                                              std::int64_t now) override {
    ++reads;
    return inner_.get_verify(key, now);
  }
  state::Status put_verify(const state::VerifyEntry& entry) override {
    return inner_.put_verify(entry);
  }
  state::Result<std::vector<state::VerifyEntry>> list_verify(std::int64_t now) override {
    return inner_.list_verify(now);
  }
  state::Result<std::size_t> erase_verify(const std::string& pattern) override {
    return inner_.erase_verify(pattern);
  }
  state::Result<std::size_t> erase_expired(std::int64_t now) override {
    return inner_.erase_expired(now);
  }
  std::atomic<int> reads{0};

private:
  state::VerifyStore& inner_;
};

class VerifyCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("verify_cache_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    options_.positive_ttl = 10 * 86400s;
    options_.negative_ttl = 3600s;
    options_.positive_refresh = 86400s;
    options_.capacity = 1000;
  }
  void TearDown() override {
    store_thread_.drain();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<VerifyCache> make_cache(state::VerifyStore* store) {
    return std::make_unique<VerifyCache>(store, store_thread_.executor(), clock_, options_,
                                         nullptr);
  }

  // Awaits cache.lookup on the session loop, as a session would.
  std::optional<state::VerifyEntry> lookup(VerifyCache& cache, const std::string& key) {
    std::optional<std::optional<state::VerifyEntry>> answer;
    asio::co_spawn(loop_, cache.lookup(key),
                   [&](std::exception_ptr e, std::optional<state::VerifyEntry> found) {
                     if (e) {
                       std::rethrow_exception(e);
                     }
                     answer = std::move(found);
                   });
    while (!answer && loop_.run_one_for(5s) > 0) {
    }
    EXPECT_TRUE(answer.has_value()) << "lookup of " << key << " never finished";
    return answer ? *answer : std::nullopt;
  }

  std::optional<state::VerifyEntry> stored(const std::string& key) {
    store_thread_.drain();
    auto got = store_->verify().get_verify(key, clock_.now_unix());
    EXPECT_TRUE(got.ok());
    return got.ok() ? got.value() : std::nullopt;
  }

  fs::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + 1700000000s};
  VerifyCacheOptions options_;
  // The session loop outlives the store thread: a store-side coroutine still holds work on
  // the loop for a moment after it has handed the answer over.
  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> loop_work_{loop_.get_executor()};
  StoreThread store_thread_;
  std::unique_ptr<state::Store> store_;
};

TEST_F(VerifyCacheTest, CacheKeyIsLocalAtDomain) {
  EXPECT_EQ(cache_key({"User", "example.test"}), "User@example.test");
}

TEST_F(VerifyCacheTest, MissWhenNothingIsKnown) {
  auto cache = make_cache(&store_->verify());
  EXPECT_FALSE(lookup(*cache, "nobody@example.test").has_value());
}

TEST_F(VerifyCacheTest, RemembersValidAndInvalidWithTheirReplies) {
  auto cache = make_cache(&store_->verify());
  cache->remember("yes@example.test", VerifyResult::Valid, "250 2.1.5 ok");
  cache->remember("no@example.test", VerifyResult::Invalid, "550 5.1.1 unknown");
  const auto yes = lookup(*cache, "yes@example.test");
  const auto no = lookup(*cache, "no@example.test");
  ASSERT_TRUE(yes && no);
  EXPECT_EQ(yes->result, VerifyResult::Valid);
  EXPECT_EQ(yes->reply, "250 2.1.5 ok");
  EXPECT_EQ(yes->checked_at, clock_.now_unix());
  EXPECT_EQ(no->result, VerifyResult::Invalid);
  EXPECT_EQ(no->reply, "550 5.1.1 unknown");
}

TEST_F(VerifyCacheTest, RememberWritesThroughToTheStore) {
  auto cache = make_cache(&store_->verify());
  cache->remember("yes@example.test", VerifyResult::Valid, "250 ok");
  const auto row = stored("yes@example.test");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->result, VerifyResult::Valid);
  EXPECT_EQ(row->expires_at, clock_.now_unix() + options_.positive_ttl.count());
}

TEST_F(VerifyCacheTest, PositiveAnswerLivesForPositiveTtl) {
  auto cache = make_cache(&store_->verify());
  cache->remember("yes@example.test", VerifyResult::Valid, "250 ok");
  clock_.advance(options_.positive_ttl - 1s);
  EXPECT_TRUE(lookup(*cache, "yes@example.test").has_value());
  clock_.advance(1s);
  EXPECT_FALSE(lookup(*cache, "yes@example.test").has_value());
}

TEST_F(VerifyCacheTest, NegativeAnswerLivesForNegativeTtl) {
  auto cache = make_cache(&store_->verify());
  cache->remember("no@example.test", VerifyResult::Invalid, "550 no");
  clock_.advance(options_.negative_ttl - 1s);
  EXPECT_TRUE(lookup(*cache, "no@example.test").has_value());
  clock_.advance(1s);
  EXPECT_FALSE(lookup(*cache, "no@example.test").has_value());
}

TEST_F(VerifyCacheTest, NewerAnswerReplacesOlder) {
  auto cache = make_cache(&store_->verify());
  cache->remember("user@example.test", VerifyResult::Valid, "250 ok");
  clock_.advance(60s);
  cache->remember("user@example.test", VerifyResult::Invalid, "550 gone");
  const auto found = lookup(*cache, "user@example.test");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->result, VerifyResult::Invalid);
  const auto row = stored("user@example.test");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->result, VerifyResult::Invalid);
}

TEST_F(VerifyCacheTest, AnswersSurviveARestartThroughTheStore) {
  auto before = make_cache(&store_->verify());
  before->remember("yes@example.test", VerifyResult::Valid, "250 ok");
  before->remember("no@example.test", VerifyResult::Invalid, "550 no");
  store_thread_.drain();
  before.reset();

  auto after = make_cache(&store_->verify()); // empty memory: every hit comes from the store
  const auto yes = lookup(*after, "yes@example.test");
  const auto no = lookup(*after, "no@example.test");
  ASSERT_TRUE(yes && no);
  EXPECT_EQ(yes->result, VerifyResult::Valid);
  EXPECT_EQ(yes->reply, "250 ok");
  EXPECT_EQ(no->result, VerifyResult::Invalid);
}

TEST_F(VerifyCacheTest, StoreHitIsKeptInMemory) {
  auto writer = make_cache(&store_->verify());
  writer->remember("yes@example.test", VerifyResult::Valid, "250 ok");
  store_thread_.drain();
  auto reader = make_cache(&store_->verify());
  ASSERT_TRUE(lookup(*reader, "yes@example.test").has_value());
  ASSERT_TRUE(store_->verify().erase_verify("").ok());
  EXPECT_TRUE(lookup(*reader, "yes@example.test").has_value());
}

TEST_F(VerifyCacheTest, BrokenStoreIsAMissNotAnException) {
  FailingStore broken;
  auto cache = make_cache(&broken);
  EXPECT_FALSE(lookup(*cache, "user@example.test").has_value());
  cache->remember("user@example.test", VerifyResult::Valid, "250 ok"); // write fails quietly
  store_thread_.drain();
  EXPECT_TRUE(lookup(*cache, "user@example.test").has_value()); // memory still answers
}

TEST_F(VerifyCacheTest, ForgetAddressDropsOnlyThatAddress) {
  auto cache = make_cache(nullptr); // memory only: forget does not touch the store
  cache->remember("a@example.test", VerifyResult::Valid, "");
  cache->remember("b@example.test", VerifyResult::Valid, "");
  cache->forget("a@example.test");
  EXPECT_FALSE(lookup(*cache, "a@example.test").has_value());
  EXPECT_TRUE(lookup(*cache, "b@example.test").has_value());
}

TEST_F(VerifyCacheTest, ForgetDomainDropsOnlyThatDomain) {
  auto cache = make_cache(nullptr);
  for (const char* key :
       {"a@example.test", "b@example.test", "a@xexample.test", "a@sub.example.test"}) {
    cache->remember(key, VerifyResult::Valid, "");
  }
  cache->forget("@example.test");
  EXPECT_FALSE(lookup(*cache, "a@example.test").has_value());
  EXPECT_FALSE(lookup(*cache, "b@example.test").has_value());
  EXPECT_TRUE(lookup(*cache, "a@xexample.test").has_value());
  EXPECT_TRUE(lookup(*cache, "a@sub.example.test").has_value());
}

TEST_F(VerifyCacheTest, ForgetEverything) {
  auto cache = make_cache(nullptr);
  cache->remember("a@example.test", VerifyResult::Valid, "");
  cache->remember("b@other.test", VerifyResult::Invalid, "");
  cache->forget("");
  EXPECT_FALSE(lookup(*cache, "a@example.test").has_value());
  EXPECT_FALSE(lookup(*cache, "b@other.test").has_value());
}

TEST_F(VerifyCacheTest, PositiveEntryIsDueForRefreshAfterPositiveRefresh) {
  auto cache = make_cache(nullptr);
  const auto now = clock_.now_unix();
  const auto refresh = options_.positive_refresh.count();
  state::VerifyEntry fresh{"u@example.test", VerifyResult::Valid, "", now - refresh + 1, now + 1};
  state::VerifyEntry old{"u@example.test", VerifyResult::Valid, "", now - refresh, now + 1};
  EXPECT_FALSE(cache->due_for_refresh(fresh));
  EXPECT_TRUE(cache->due_for_refresh(old));
}

TEST_F(VerifyCacheTest, NegativeEntryIsNeverRefreshed) {
  auto cache = make_cache(nullptr);
  state::VerifyEntry ancient{"u@example.test", VerifyResult::Invalid, "", 0, clock_.now_unix() + 1};
  EXPECT_FALSE(cache->due_for_refresh(ancient));
}

TEST_F(VerifyCacheTest, RememberedEntryBecomesDueAsTheClockMoves) {
  auto cache = make_cache(nullptr);
  cache->remember("u@example.test", VerifyResult::Valid, "");
  auto entry = lookup(*cache, "u@example.test");
  ASSERT_TRUE(entry.has_value());
  EXPECT_FALSE(cache->due_for_refresh(*entry));
  clock_.advance(options_.positive_refresh);
  entry = lookup(*cache, "u@example.test");
  ASSERT_TRUE(entry.has_value());
  EXPECT_TRUE(cache->due_for_refresh(*entry));
}

TEST_F(VerifyCacheTest, OnlyOneRefreshPerKeyAtATime) {
  auto cache = make_cache(nullptr);
  EXPECT_TRUE(cache->begin_refresh("a@example.test"));
  EXPECT_FALSE(cache->begin_refresh("a@example.test"));
  EXPECT_TRUE(cache->begin_refresh("b@example.test")) << "other keys refresh independently";
  cache->end_refresh("a@example.test");
  EXPECT_TRUE(cache->begin_refresh("a@example.test"));
}

TEST_F(VerifyCacheTest, MemoryStaysWithinCapacity) {
  options_.capacity = 8;
  auto cache = make_cache(nullptr);
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    cache->remember("u" + std::to_string(i) + "@example.test", VerifyResult::Valid, "");
  }
  std::size_t hits = 0;
  for (int i = 0; i < n; ++i) {
    hits += lookup(*cache, "u" + std::to_string(i) + "@example.test").has_value() ? 1 : 0;
  }
  EXPECT_GE(hits, 1u);
  EXPECT_LE(hits, options_.capacity);
  EXPECT_TRUE(lookup(*cache, "u" + std::to_string(n - 1) + "@example.test").has_value())
      << "the newest answer is always kept";
}

TEST_F(VerifyCacheTest, StoreAnswersWhatMemoryDropped) {
  options_.capacity = 8;
  auto cache = make_cache(&store_->verify());
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    cache->remember("u" + std::to_string(i) + "@example.test", VerifyResult::Valid, "");
  }
  store_thread_.drain();
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(lookup(*cache, "u" + std::to_string(i) + "@example.test").has_value()) << i;
  }
}

TEST_F(VerifyCacheTest, AKeyTheStoreLacksIsNotAskedForAgainAtOnce) {
  CountingStore counting(store_->verify());
  auto cache = make_cache(&counting);
  EXPECT_FALSE(lookup(*cache, "nobody@example.test").has_value());
  EXPECT_FALSE(lookup(*cache, "nobody@example.test").has_value());
  EXPECT_EQ(counting.reads.load(), 1) << "the second miss must cost no store read (no hop)";
  clock_.advance(options_.absent_memory + 1s);
  EXPECT_FALSE(lookup(*cache, "nobody@example.test").has_value());
  EXPECT_EQ(counting.reads.load(), 2) << "after absent_memory the store is asked again";
}

TEST_F(VerifyCacheTest, OwnAnswerReplacesAbsenceAtOnce) {
  auto cache = make_cache(&store_->verify());
  EXPECT_FALSE(lookup(*cache, "new@example.test").has_value());
  cache->remember("new@example.test", VerifyResult::Valid, "250 ok");
  const auto hit = lookup(*cache, "new@example.test");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->result, VerifyResult::Valid);
}

TEST_F(VerifyCacheTest, AnotherWritersAnswerIsSeenOnceAbsenceIsForgotten) {
  auto reader = make_cache(&store_->verify());
  auto writer = make_cache(&store_->verify()); // another host sharing the store
  EXPECT_FALSE(lookup(*reader, "shared@example.test").has_value());
  writer->remember("shared@example.test", VerifyResult::Invalid, "550 no");
  store_thread_.drain();
  clock_.advance(options_.absent_memory + 1s);
  const auto hit = lookup(*reader, "shared@example.test");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->result, VerifyResult::Invalid);
}

} // namespace
} // namespace backstop::policy
