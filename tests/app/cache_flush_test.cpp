// cache_flush_test: `backstop cache flush PATTERN` without a running server edits the state
// store directly. The pattern names a domain or address as an administrator types it, so it
// must match the way the cache keys are written (domain normalised), as `backstop verify` does.
#include "app/config_loader.hpp"
#include "app/verify_command.hpp"
#include "state/store.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <limits>
#include <unistd.h>

namespace backstop::app {
namespace {

namespace fs = std::filesystem;

class CacheFlushTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cache_flush_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto parsed = parse_config("hostname = \"mx2.example.test\"\n"
                               "[state]\npath = \"" +
                                   (dir_ / "state.db").string() +
                                   "\"\n"
                                   "[admin]\ncontrol_socket = \"" +
                                   (dir_ / "no-server.sock").string() +
                                   "\"\n[[domain]]\nname = \"example.test\"\n",
                               "flush.toml");
    ASSERT_TRUE(std::holds_alternative<Config>(parsed))
        << std::get<ConfigErrors>(parsed).messages.front();
    config_ = std::get<Config>(parsed);
    auto store = state::open_store({"sqlite", config_.state.path, false});
    ASSERT_TRUE(store.ok()) << store.error().message;
    for (const char* key : {"User@example.test", "other@example.test", "user@elsewhere.test"}) {
      ASSERT_TRUE(store.value()
                      ->verify()
                      .put_verify({key, state::VerifyResult::Valid, "250 ok", 1,
                                   std::numeric_limits<std::int64_t>::max()})
                      .ok());
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> remaining() {
    auto store = state::open_store({"sqlite", config_.state.path, true});
    EXPECT_TRUE(store.ok());
    std::vector<std::string> out;
    if (!store.ok()) {
      return out;
    }
    auto listed = store.value()->verify().list_verify(0);
    EXPECT_TRUE(listed.ok());
    if (listed.ok()) {
      for (const auto& e : listed.value()) {
        out.push_back(e.address);
      }
    }
    return out;
  }

  int flush(const std::string& pattern) {
    return run_cache_command(config_, CacheCommand{"flush", pattern, true});
  }

  fs::path dir_;
  Config config_;
};

TEST_F(CacheFlushTest, DomainPatternErasesThatDomain) {
  EXPECT_EQ(flush("@example.test"), 0);
  EXPECT_EQ(remaining(), (std::vector<std::string>{"user@elsewhere.test"}));
}

TEST_F(CacheFlushTest, DomainPatternIsNormalisedLikeAddresses) {
  EXPECT_EQ(flush("@Example.TEST."), 0);
  EXPECT_EQ(remaining(), (std::vector<std::string>{"user@elsewhere.test"}))
      << "\"@Example.TEST.\" names the same domain as \"@example.test\"";
}

TEST_F(CacheFlushTest, AddressPatternIsNormalisedLikeBackstopVerify) {
  EXPECT_EQ(flush("User@Example.TEST"), 0);
  EXPECT_EQ(remaining(), (std::vector<std::string>{"other@example.test", "user@elsewhere.test"}))
      << "`backstop verify User@Example.TEST` shows the entry keyed User@example.test";
}

} // namespace
} // namespace backstop::app
