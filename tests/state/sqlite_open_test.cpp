// sqlite_open_test: opening the SQLite state store while another process writes to it, as
// `backstop contacts` does while the server and `backstop ingest` record contacts. A writer
// holding its lock must not make the open fail: the file is already in WAL mode, so the
// open needs no write at all. A fresh file locked by another opener is waited for.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <thread>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;

// Another process's connection: a raw one, so it shares no code with what is tested.
class OtherWriter {
public:
  explicit OtherWriter(const fs::path& file) {
    sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  }
  ~OtherWriter() { sqlite3_close(db_); }
  OtherWriter(const OtherWriter&) = delete;
  OtherWriter& operator=(const OtherWriter&) = delete;

  int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

private:
  sqlite3* db_ = nullptr;
};

class SqliteOpenTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sqlite_open_test_" + std::to_string(::getpid()) + "_" + testing::test_dir_name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  mail::Result<std::unique_ptr<Store>> open() { return testing::open_test_store("sqlite", dir_); }
  fs::path file() const { return dir_ / "state.db"; }

  fs::path dir_;
};

TEST_F(SqliteOpenTest, OpensAndReadsWhileAnotherConnectionHoldsTheWriteLock) {
  {
    auto first = open(); // creates the file and puts it in WAL mode
    ASSERT_TRUE(first.ok()) << first.error().message;
  }
  auto server = open(); // the server keeps its connection, so the WAL stays
  ASSERT_TRUE(server.ok()) << server.error().message;
  OtherWriter ingest(file());
  ASSERT_EQ(ingest.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(
      ingest.exec(
          "INSERT INTO mx_host (host, last_at, expires_at) VALUES ('mx1.example.test', 1, 2)"),
      SQLITE_OK)
      << "the schema changed: this test writes mx_host";

  auto cli = open();
  ASSERT_TRUE(cli.ok()) << cli.error().message;
  auto read = cli.value()->contacts().contacts("127.0.0.51", 0);
  EXPECT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ingest.exec("COMMIT"), SQLITE_OK);
}

TEST_F(SqliteOpenTest, AFreshFileLockedByAnotherOpenerIsWaitedFor) {
  // Another opener got there first and is writing, the file still in rollback mode: our
  // conversion to WAL reads the header, then needs the write lock, and SQLite returns BUSY at
  // once there instead of calling the busy handler (it could deadlock).
  OtherWriter other(file());
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(other.exec("CREATE TABLE other_opener (x)"), SQLITE_OK);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.exec("COMMIT");
  });
  auto opened = open();
  release.join();
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto read = opened.value()->contacts().contacts("127.0.0.51", 0);
  EXPECT_TRUE(read.ok()) << read.error().message;
}

} // namespace
} // namespace backstop::state
