// ingest_test: `backstop ingest`'s reader over a real SQLite store: lines split across reads,
// CRLF, a line longer than max_line skipped (memory stays bounded), the position after the
// last complete line, truncation and rotation, and a stream's last line without a newline.
#include "app/ingest.hpp"
#include "state/store.hpp"

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string line_a = "2026-12-01T18:00:00Z mx1 postfix/smtpd[1]: connect from a[192.0.2.1]";
const std::string line_b = "2026-12-01T18:00:01Z mx1 postfix/smtpd[2]: connect from b[192.0.2.2]";
const std::string noise = "2026-12-01T18:00:02Z mx1 postfix/qmgr[3]: 4F2A1: removed";

class IngestTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ingest_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    options_.host = "mx1.example.org";
    options_.keep = 10 * 365 * 86400;
    options_.chunk = 7; // every line crosses reads
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void append(const std::string& text) {
    std::ofstream(log_, std::ios::app | std::ios::binary) << text;
  }
  IngestCounts run() {
    auto got = ingest_file(store_->contacts(), log_, options_, clock_);
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    return got.ok() ? got.value() : IngestCounts{};
  }
  std::size_t contacts_of(const std::string& address) {
    auto rows = store_->contacts().contacts(address, 0);
    return rows.ok() ? rows.value().size() : 0;
  }

  fs::path dir_;
  fs::path log_ = fs::temp_directory_path() / "unused";
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + 1796148000s};
  IngestOptions options_;
  std::unique_ptr<state::Store> store_;
};

TEST_F(IngestTest, LinesAcrossReadsCrlfAndAnOverlongLine) {
  log_ = dir_ / "maillog";
  options_.max_line = 100;
  append(line_a + "\r\n" + std::string(500, 'x') + "\n" + noise + "\n" + line_b + "\n");
  const auto n = run();
  EXPECT_EQ(n.lines, 4U);
  EXPECT_EQ(n.contacts, 2U);
  EXPECT_EQ(n.other, 1U);
  EXPECT_EQ(n.malformed, 1U) << "the overlong line";
  EXPECT_EQ(n.offset, fs::file_size(log_));
  EXPECT_EQ(contacts_of("192.0.2.1"), 1U);
  EXPECT_EQ(contacts_of("192.0.2.2"), 1U);
}

TEST_F(IngestTest, PositionStopsBeforeAnUnfinishedLineAndResumes) {
  log_ = dir_ / "maillog";
  append(line_a + "\n" + line_b.substr(0, 20));
  auto n = run();
  EXPECT_EQ(n.contacts, 1U);
  EXPECT_EQ(n.offset, line_a.size() + 1);
  append(line_b.substr(20) + "\n");
  n = run();
  EXPECT_EQ(n.start, line_a.size() + 1);
  EXPECT_EQ(n.lines, 1U);
  EXPECT_EQ(n.contacts, 1U);
  EXPECT_EQ(n.malformed, 0U);
  EXPECT_EQ(run().lines, 0U);
}

TEST_F(IngestTest, TruncatedOrRotatedFileIsReadFromItsStart) {
  log_ = dir_ / "maillog";
  append(line_a + "\n" + line_b + "\n");
  EXPECT_EQ(run().contacts, 2U);
  fs::resize_file(log_, 0); // copytruncate
  append(line_a + "\n");
  auto n = run();
  EXPECT_EQ(n.start, 0U);
  EXPECT_EQ(n.contacts, 1U);
  const fs::path other = dir_ / "maillog.1";
  std::ofstream(other) << line_b << "\n" << line_b << "\n"; // longer than the old offset
  fs::rename(other, log_);
  n = run();
  EXPECT_EQ(n.start, 0U) << "another inode under the same name";
  EXPECT_EQ(n.contacts, 2U);
}

TEST_F(IngestTest, StreamTakesItsLastLineWithoutANewline) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string text = line_a + "\n" + "garbage\n" + line_b;
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  auto got = ingest_stream(store_->contacts(), fds[0], options_, clock_);
  ::close(fds[0]);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got.value().lines, 3U);
  EXPECT_EQ(got.value().contacts, 2U);
  EXPECT_EQ(got.value().malformed, 1U);
  EXPECT_EQ(contacts_of("192.0.2.2"), 1U);
}

TEST_F(IngestTest, MissingFileIsAnError) {
  log_ = dir_ / "nope";
  auto got = ingest_file(store_->contacts(), log_, options_, clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("nope"), std::string::npos) << got.error().message;
}

} // namespace
} // namespace backstop::app
