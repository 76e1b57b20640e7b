// spool_gc_race_test: message bodies read while segment GC relocates those messages and
// deletes their old segment must come back byte for byte (never EBADF, never the bytes of
// whatever file got the closed descriptor's number next).
#include "queue/spool.hpp"

#include <atomic>
#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace backstop::queue {
namespace {

namespace fs = std::filesystem;

class SpoolGcRaceTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spool_gc_race_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    options_.dir = dir_;
    options_.segment_size = 32 * 1024; // rotate often: every round of fillers moves segments
  }
  void TearDown() override { fs::remove_all(dir_); }

  static mail::Envelope envelope(int n) {
    mail::Envelope e;
    e.sender = {"sender" + std::to_string(n), "example.org"};
    e.recipients.push_back({{"user", "example.test"}, mail::NotifyNone, ""});
    e.arrival_unix = 1795392000 + n;
    return e;
  }

  // A body nobody else has: a wrong read cannot look right by accident.
  static std::string survivor_body(int n) {
    std::string body = "Subject: survivor " + std::to_string(n) + "\r\n\r\n";
    for (int line = 0; body.size() < 3000; ++line) {
      body += "survivor " + std::to_string(n) + " line " + std::to_string(line) + "\r\n";
    }
    return body;
  }

  // Submits bodies without waiting for each one, so they share group commits.
  static std::vector<mail::QueueId> submit_all(Spool& spool, const std::vector<std::string>& bodies,
                                               int tag) {
    std::vector<std::promise<CommitResult>> promises(bodies.size());
    std::vector<mail::QueueId> ids;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      auto buffer = spool.new_body();
      EXPECT_TRUE(buffer.append(bodies[i]).ok());
      ids.push_back(spool.allocate_id());
      spool.submit(ids.back(), envelope(tag), std::move(buffer),
                   [&p = promises[i]](CommitResult r) { p.set_value(std::move(r)); });
    }
    for (auto& p : promises) {
      auto r = p.get_future().get();
      EXPECT_TRUE(r.ok()) << r.detail;
    }
    return ids;
  }

  static void remove_all(Spool& spool, const std::vector<mail::QueueId>& ids) {
    std::vector<std::promise<CommitResult>> promises(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      spool.remove(ids[i], [&p = promises[i]](CommitResult r) { p.set_value(std::move(r)); });
    }
    for (auto& p : promises) {
      auto r = p.get_future().get();
      EXPECT_TRUE(r.ok()) << r.detail;
    }
  }

  std::uint64_t newest_segment_number() const {
    std::uint64_t newest = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "segments")) {
      newest = std::max<std::uint64_t>(newest, std::stoull(e.path().stem().string(), nullptr, 16));
    }
    return newest;
  }

  fs::path dir_;
  SpoolOptions options_;
};

TEST_F(SpoolGcRaceTest, BodiesReadDuringCompactionAreByteIdentical) {
  auto opened = Spool::open(options_);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& spool = *opened.value();

  constexpr int survivors = 3;
  std::vector<std::string> expected;
  for (int n = 0; n < survivors; ++n) {
    expected.push_back(survivor_body(n));
  }
  const auto survivor_ids = submit_all(spool, expected, 0);

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> failures{0};
  std::mutex first_failure_mutex;
  std::string first_failure;
  auto reader = [&](int offset) {
    for (std::size_t i = static_cast<std::size_t>(offset); !done; ++i) {
      const std::size_t n = i % survivors;
      auto body = spool.read_body(survivor_ids[n]);
      reads++;
      const bool exact = body.ok() && body.value() == expected[n];
      if (!exact) {
        failures++;
        std::lock_guard lock(first_failure_mutex);
        if (first_failure.empty()) {
          first_failure =
              body.ok() ? "wrong bytes for survivor " + std::to_string(n) : body.error().message;
        }
      }
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back(reader, t);
  }

  // Each round fills more than a segment with short-lived mail and removes it, so the
  // segment holding the survivors is soon the oldest, mostly dead, and compacted.
  constexpr int rounds = 60;
  const std::vector<std::string> fillers(40, std::string(1000, 'f'));
  for (int round = 0; round < rounds; ++round) {
    remove_all(spool, submit_all(spool, fillers, round));
  }
  done = true;
  for (auto& t : readers) {
    t.join();
  }

  const auto stats = spool.stats();
  // The work above really moved the survivors: old segments went away.
  EXPECT_GT(newest_segment_number(), 40u);
  EXPECT_LE(stats.segments, 3u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(failures.load(), 0u) << "first failure: " << first_failure << " (" << reads.load()
                                 << " reads)";
  for (int n = 0; n < survivors; ++n) {
    EXPECT_EQ(spool.read_body(survivor_ids[n]).value(), expected[n]);
  }
}

} // namespace
} // namespace backstop::queue
