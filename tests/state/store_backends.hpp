// store_backends: the one test suite of the state store runs against each backend: SQLite in
// a temporary file, and Redis, a real redis-server this test process starts once on a free
// loopback port (no persistence) and stops at exit. Each test gets its own key prefix, so
// tests never see each other's keys. Without redis-server on PATH the Redis half is skipped
// with that reason (CI installs it: scripts/install-deps.sh).
#pragma once

#include "state/store.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace backstop::state::testing {

inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool redis_answers(int port) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) {
      freeReplyObject(reply);
    }
  }
  if (c != nullptr) {
    redisFree(c);
  }
  return ok;
}

// A redis-server of this process's own; `port` 0 with `why` when there is none.
class RedisServer {
public:
  static RedisServer& shared() {
    static RedisServer server;
    return server;
  }
  ~RedisServer() { stop(); }

  int port = 0;
  std::string why;

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  RedisServer() { start_on(free_loopback_port()); }

  int last_port = 0;
  // Starts redis-server on that port (again, after stop()).
  void start_on(int wanted) {
    last_port = wanted;
    why.clear();
    const std::string port_text = std::to_string(wanted);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Dies with this test process even when it crashes: an orphan holding ctest's output
      // pipe would make ctest wait forever.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execlp("redis-server", "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--loglevel", "warning", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (redis_answers(wanted)) {
        port = wanted;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        why = "redis-server is not installed or did not start (apt-get install redis-server)";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why = "redis-server did not answer on 127.0.0.1:" + port_text + " within 5 s";
    stop();
  }

private:
  pid_t pid_ = -1;
};

inline std::vector<std::string> store_backends() { return {"sqlite", "redis"}; }

// This test's key prefix: the suite and the test name, so tests never share keys.
inline std::string test_key_prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "test:" + std::to_string(::getpid()) + ":" + info->test_suite_name() + "." + info->name() +
         ":";
}

// The test's name as one path component ("Name/redis" -> "Name_redis").
inline std::string test_dir_name() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) {
    c = c == '/' ? '_' : c;
  }
  return name;
}

inline StoreOptions test_store_options(const std::string& backend, const std::filesystem::path& dir,
                                       bool read_only = false) {
  StoreOptions o;
  o.backend = backend;
  o.path = dir / "state.db";
  o.read_only = read_only;
  o.url = "redis://127.0.0.1:" + std::to_string(RedisServer::shared().port) + "/0";
  o.key_prefix = test_key_prefix();
  o.timeout = std::chrono::milliseconds(1000); // a loaded CI machine: the tests are about data
  return o;
}

inline mail::Result<std::unique_ptr<Store>> open_test_store(const std::string& backend,
                                                            const std::filesystem::path& dir,
                                                            bool read_only = false) {
  return open_store(test_store_options(backend, dir, read_only));
}

// Why a backend cannot be tested here; empty when it can.
inline std::string backend_missing(const std::string& backend) {
  return backend == "redis" ? RedisServer::shared().why : std::string();
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

} // namespace backstop::state::testing

// In SetUp: skips the Redis half, with the reason, when no redis-server can run.
#define SKIP_UNLESS_BACKEND(backend)                                                               \
  do {                                                                                             \
    if (auto missing = ::backstop::state::testing::backend_missing(backend); !missing.empty()) {   \
      GTEST_SKIP() << missing;                                                                     \
    }                                                                                              \
  } while (false)

// A test about a SQLite property (a read-only file, the purge of rows): not for Redis.
#define SQLITE_ONLY(reason)                                                                        \
  do {                                                                                             \
    if (GetParam() != "sqlite") {                                                                  \
      GTEST_SKIP() << reason;                                                                      \
    }                                                                                              \
  } while (false)

namespace backstop::state::testing {

// What every store suite shares: a directory of its own and the store of the backend under
// test (the parameter), opened again on demand. Derived SetUps call this first and return
// when the test was skipped.
class BackendStoreTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    SKIP_UNLESS_BACKEND(GetParam());
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("store_test_") + test->test_suite_name() + "_" +
            std::to_string(::getpid()) + "_" + test_dir_name());
    std::filesystem::remove_all(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto opened = open_test_store(GetParam(), dir_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

} // namespace backstop::state::testing
