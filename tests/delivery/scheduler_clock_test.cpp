// scheduler_clock_test: retries, delay notices and expiry happen in clock time, not wall
// time. The scheduler reads a ManualClock that the test moves hours and days ahead; the
// spool is real (a temporary directory) and the destination a closed loopback port, so
// every attempt is a real connection refused within milliseconds.
#include "delivery/scheduler.hpp"
#include "metrics/counters.hpp"
#include "queue/spool.hpp"

#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <thread>
#include <unistd.h>

namespace backstop::delivery {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::int64_t start_unix = 1795392000; // 2026-11-23
constexpr std::int64_t initial_retry = 300;

// Every domain's only MX is a loopback port where nothing listens.
class ClosedPortRouter final : public Router {
public:
  asio::awaitable<Route> route(const std::string& /*domain*/) override {
    Route r;
    r.hops.push_back({"127.0.0.1", {asio::ip::make_address("127.0.0.1"), 1}});
    co_return r;
  }
};

class SchedulerClockTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scheduler_clock_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    queue::SpoolOptions spool_options;
    spool_options.dir = dir_;
    auto spool = queue::Spool::open(spool_options);
    ASSERT_TRUE(spool.ok()) << spool.error().message;
    spool_ = std::move(spool.value());
    SchedulerOptions options;
    options.hostname = "mx2.example.test";
    options.retry = {std::chrono::seconds(initial_retry), 1h, 4h, 5 * 24h};
    options.tick = 5ms;
    options.client.helo_name = options.hostname;
    options.client.connect_timeout = 5s;
    options.counters = &counters_;
    scheduler_ = std::make_unique<Scheduler>(loop_, *spool_, router_, options, clock_,
                                             std::make_shared<spdlog::logger>("test"));
    spool_->set_on_committed(
        [this](std::vector<queue::QueuedMessage> m) { scheduler_->on_committed(std::move(m)); });
    scheduler_->start();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(loop_);
      loop_.run();
    });
  }

  void TearDown() override {
    if (scheduler_) {
      scheduler_->stop();
    }
    loop_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    if (spool_) {
      spool_->close();
    }
    fs::remove_all(dir_);
  }

  mail::QueueId submit(const mail::Address& sender) {
    mail::Envelope e;
    e.sender = sender;
    e.recipients.push_back({{"user", "example.test"}, mail::NotifyNone, ""});
    e.client_ip = "192.0.2.1";
    e.helo = "client.example";
    e.arrival_unix = clock_.now_unix();
    auto body = spool_->new_body();
    EXPECT_TRUE(body.append("Subject: waiting\r\n\r\nbody\r\n").ok());
    const auto id = spool_->allocate_id();
    std::promise<queue::CommitResult> committed;
    auto result = committed.get_future();
    spool_->submit(id, e, std::move(body),
                   [&committed](queue::CommitResult r) { committed.set_value(std::move(r)); });
    EXPECT_TRUE(result.get().ok());
    return id;
  }

  queue::RecipientState recipient(mail::QueueId id) const {
    auto m = spool_->find(id);
    return m ? m->state.recipients.at(0) : queue::RecipientState{};
  }

  // Polls (wall time) until the condition holds; the scheduler runs on its own thread.
  static bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 1000; ++i) {
      if (condition()) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return condition();
  }

  // The notices queued so far: messages from the null sender, with their bodies.
  std::vector<std::string> notices() const {
    std::vector<std::string> out;
    for (const auto& m : spool_->list()) {
      if (m.envelope.sender.is_null()) {
        auto body = spool_->read_body(m.id);
        out.push_back(body.ok() ? body.value() : std::string());
      }
    }
    return out;
  }

  fs::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} +
                           std::chrono::seconds(start_unix)};
  metrics::Counters counters_;
  ClosedPortRouter router_;
  asio::io_context loop_{1};
  std::unique_ptr<queue::Spool> spool_;
  std::unique_ptr<Scheduler> scheduler_;
  std::thread thread_;
};

TEST_F(SchedulerClockTest, RetriesWaitForTheScheduleNotForTheWallClock) {
  const auto id = submit({"sender", "example.org"});
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts == 1; }));
  EXPECT_EQ(recipient(id).next_attempt_unix, start_unix + initial_retry);
  EXPECT_FALSE(recipient(id).last_error.empty());

  // Wall time passes, clock time does not: no new attempt.
  std::this_thread::sleep_for(100ms);
  clock_.advance(std::chrono::seconds(initial_retry - 1));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(recipient(id).attempts, 1U);

  clock_.advance(1s); // the retry is due now
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts == 2; }));
  // Backed off: twice the first interval, from the time of the second attempt.
  EXPECT_EQ(recipient(id).next_attempt_unix, start_unix + initial_retry + 2 * initial_retry);
  EXPECT_EQ(counters_.value(metrics::Counter::RecipientsDeferred), 2U);
}

TEST_F(SchedulerClockTest, DelayNoticeAfterFourHoursThenBounceAfterFiveDays) {
  const auto id = submit({"sender", "example.org"});
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts == 1; }));
  EXPECT_TRUE(notices().empty());

  clock_.advance(4h);
  ASSERT_TRUE(eventually([&] { return notices().size() == 1; }));
  EXPECT_NE(notices()[0].find("Action: delayed"), std::string::npos) << notices()[0];
  EXPECT_TRUE(spool_->find(id).has_value()); // still waiting for the primary
  EXPECT_EQ(counters_.value(metrics::Counter::DelayNotices), 1U);

  clock_.advance(2h); // another attempt, no second delay notice
  const auto attempts = recipient(id).attempts;
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts > attempts; }));
  EXPECT_EQ(counters_.value(metrics::Counter::DelayNotices), 1U);

  clock_.advance(5 * 24h);
  ASSERT_TRUE(eventually([&] { return !spool_->find(id).has_value(); }));
  // The bounce is queued; the delay notice, undeliverable for five days as well, expired
  // without a notice of its own (it has the null sender).
  ASSERT_TRUE(eventually([&] {
    return notices().size() == 1 &&
           counters_.value(metrics::Counter::RecipientsFailed) == 2; // message and notice
  }));
  const auto queued = notices();
  ASSERT_EQ(queued.size(), 1U);
  EXPECT_NE(queued[0].find("Action: failed"), std::string::npos) << queued[0];
  EXPECT_NE(queued[0].find("expired"), std::string::npos) << queued[0];
  EXPECT_EQ(counters_.value(metrics::Counter::BouncesSent), 1U);
  EXPECT_EQ(counters_.value(metrics::Counter::BouncesSuppressed), 1U);
}

TEST_F(SchedulerClockTest, NullSenderMailExpiresWithoutAnyNotice) {
  const auto id = submit({});
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts == 1; }));
  clock_.advance(4h + 1s);
  const auto attempts = recipient(id).attempts;
  ASSERT_TRUE(eventually([&] { return recipient(id).attempts > attempts; }));
  clock_.advance(5 * 24h);
  ASSERT_TRUE(eventually([&] { return !spool_->find(id).has_value(); }));
  EXPECT_TRUE(spool_->list().empty()); // no delay notice, no bounce
  EXPECT_EQ(counters_.value(metrics::Counter::BouncesSuppressed), 1U);
  EXPECT_EQ(counters_.value(metrics::Counter::DelayNotices), 0U);
}

} // namespace
} // namespace backstop::delivery
