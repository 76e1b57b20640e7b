// async_batch_test: (every backend) the reads many sessions ask at once, answered together
// (state/async_batch.hpp): while the store's thread is busy, the blacklist's listing reads
// and the skipped-primary check's evidence reads of twenty sessions wait, go to the store in
// one call, and each caller gets the answer its own read gives (listed, not listed, expired;
// each client's evidence); an idle store answers a read alone, at once.
#include "state/async_contact_store.hpp"
#include "state/async_offender_store.hpp"
#include "state/store.hpp"
#include "state/store_backends.hpp"
#include "state/store_thread.hpp"

#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t t0 = 1700000000;
constexpr int sessions = 20;

asio::awaitable<void> ask_listing(AsyncOffenderStore* store, std::string address,
                                  std::optional<Result<std::optional<Listing>>>* out) {
  *out = co_await store->listing(std::move(address), t0, 5000ms);
}

asio::awaitable<void> ask_evidence(AsyncContactStore* store, std::string address,
                                   std::optional<Result<std::vector<HostEvidence>>>* out) {
  std::vector<std::string> hosts{std::string("mx1.example.org"), std::string("mx3.example.org")};
  *out = co_await store->evidence(std::move(address), std::move(hosts), t0, 5000ms);
}

std::string client(int i) { return "192.0.2." + std::to_string(i + 1); }

class AsyncBatchTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    SKIP_UNLESS_BACKEND(GetParam());
    dir_ = fs::temp_directory_path() /
           ("async_batch_test_" + std::to_string(::getpid()) + "_" + testing::test_dir_name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = testing::open_test_store(GetParam(), dir_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  // Holds the store's thread until release(): what a slow round trip does to later reads.
  void block_store() {
    asio::post(thread_.executor(), [gate = gate_.get_future().share()] { gate.wait(); });
  }
  void release() { gate_.set_value(); }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  std::promise<void> gate_;
  asio::io_context loop_; // the sessions' loop; outlives the store thread
  testing::StoreThread thread_;
};

TEST_P(AsyncBatchTest, ListingReadsThatWaitTogetherAreAnsweredTogetherEachItsOwn) {
  auto& offenders = store_->offenders();
  // Client 3 is listed, client 5 was listed until before t0, the others never were.
  ASSERT_TRUE(offenders.list({client(3), t0 - 100, t0 + 3600, "5 offenses within 1 d"}).ok());
  ASSERT_TRUE(offenders.list({client(5), t0 - 7200, t0 - 60, "old"}).ok());
  AsyncOffenderStore async(offenders, thread_.executor());
  std::vector<std::optional<Result<std::optional<Listing>>>> answers(sessions);
  block_store();
  for (int i = 0; i < sessions; ++i) {
    asio::co_spawn(loop_, ask_listing(&async, client(i), &answers[i]), asio::detached);
  }
  loop_.poll(); // every session has asked, none is answered: the store is busy
  const auto before = async.listing_batches();
  release();
  loop_.run();
  EXPECT_EQ(async.listing_batches() - before, 1u) << "twenty reads, one call of the store";
  for (int i = 0; i < sessions; ++i) {
    ASSERT_TRUE(answers[i].has_value()) << client(i);
    ASSERT_TRUE(answers[i]->ok()) << answers[i]->error().message;
    EXPECT_EQ(answers[i]->value().has_value(), i == 3) << client(i);
  }
  EXPECT_EQ(answers[3]->value()->reason, "5 offenses within 1 d");
  EXPECT_EQ(answers[3]->value()->address, client(3));

  // Idle: a read alone is answered alone, without waiting for company.
  std::optional<Result<std::optional<Listing>>> alone;
  asio::co_spawn(loop_, ask_listing(&async, client(3), &alone), asio::detached);
  loop_.restart();
  loop_.run();
  ASSERT_TRUE(alone.has_value() && alone->ok());
  EXPECT_TRUE(alone->value().has_value());
  EXPECT_EQ(async.listing_batches() - before, 2u);
}

TEST_P(AsyncBatchTest, EvidenceReadsThatWaitTogetherAreAnsweredTogetherEachItsOwn) {
  auto& contacts = store_->contacts();
  // Even clients reached mx1 (each at its own time), odd ones nobody; mx3 saw client 1.
  std::vector<Contact> seen;
  for (int i = 0; i < sessions; i += 2) {
    seen.push_back({client(i), "mx1.example.org", "ingest", t0 - 100 + i});
  }
  seen.push_back({client(1), "mx3.example.org", "ingest", t0 - 50});
  ASSERT_TRUE(contacts.record(seen, 86400).ok());
  AsyncContactStore async(contacts, thread_.executor());
  std::vector<std::optional<Result<std::vector<HostEvidence>>>> answers(sessions);
  block_store();
  for (int i = 0; i < sessions; ++i) {
    asio::co_spawn(loop_, ask_evidence(&async, client(i), &answers[i]), asio::detached);
  }
  loop_.poll();
  const auto before = async.evidence_batches();
  release();
  loop_.run();
  EXPECT_EQ(async.evidence_batches() - before, 1u) << "twenty reads, one call of the store";
  for (int i = 0; i < sessions; ++i) {
    ASSERT_TRUE(answers[i].has_value()) << client(i);
    ASSERT_TRUE(answers[i]->ok()) << answers[i]->error().message;
    const auto& e = answers[i]->value();
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].host, "mx1.example.org");
    EXPECT_EQ(e[0].client_last, i % 2 == 0 ? t0 - 100 + i : 0) << client(i);
    EXPECT_EQ(e[0].anyone_last, t0 - 100 + sessions - 2);
    EXPECT_EQ(e[1].host, "mx3.example.org");
    EXPECT_EQ(e[1].client_last, i == 1 ? t0 - 50 : 0) << client(i);
    EXPECT_EQ(e[1].anyone_last, t0 - 50);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncBatchTest, ::testing::ValuesIn(testing::store_backends()),
                         testing::backend_name);

} // namespace
} // namespace backstop::state
