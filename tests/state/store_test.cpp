// store_test: the verification store of each backend (SQLite in a real file in a temporary
// directory, Redis in a real redis-server: state/store_backends.hpp):
// what is put comes back until it expires, erase patterns touch only what they name, the
// file survives a reopen, and every failure is an Error value, never an exception.
#include "state/store.hpp"
#include "state/store_backends.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::state {
namespace {

namespace fs = std::filesystem;

VerifyEntry entry(std::string address, VerifyResult result, std::int64_t checked_at,
                  std::int64_t expires_at) {
  return VerifyEntry{std::move(address), result, "250 2.1.5 reply for test", checked_at,
                     expires_at};
}

class VerifyStoreTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    SKIP_UNLESS_BACKEND(GetParam());
    dir_ = fs::temp_directory_path() /
           ("sqlite_store_test_" + std::to_string(::getpid()) + "_" + testing::test_dir_name());
    fs::remove_all(dir_);
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Store> open(bool read_only = false) {
    auto store = testing::open_test_store(GetParam(), dir_, read_only);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? std::move(store.value()) : nullptr;
  }

  void put(const VerifyEntry& e) {
    auto status = verify().put_verify(e);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
  void put_live(const std::string& address) { put(entry(address, VerifyResult::Valid, 100, 1000)); }

  std::optional<VerifyEntry> get(const std::string& address, std::int64_t now = 500) {
    auto got = verify().get_verify(address, now);
    EXPECT_TRUE(got.ok()) << got.error().message;
    return got.ok() ? got.value() : std::nullopt;
  }

  std::vector<std::string> addresses(std::int64_t now = 500) {
    auto listed = verify().list_verify(now);
    EXPECT_TRUE(listed.ok()) << listed.error().message;
    std::vector<std::string> out;
    if (listed.ok()) {
      for (const auto& e : listed.value()) {
        out.push_back(e.address);
      }
    }
    return out;
  }

  std::size_t erase(const std::string& pattern) {
    auto erased = verify().erase_verify(pattern);
    EXPECT_TRUE(erased.ok()) << erased.error().message;
    return erased.ok() ? erased.value() : 0;
  }

  VerifyStore& verify() { return store_->verify(); }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(VerifyStoreTest, PutThenGetReturnsEveryField) {
  put(VerifyEntry{"user@example.test", VerifyResult::Invalid, "550 5.1.1 no such user", 123, 456});
  const auto got = get("user@example.test", 200);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->address, "user@example.test");
  EXPECT_EQ(got->result, VerifyResult::Invalid);
  EXPECT_EQ(got->reply, "550 5.1.1 no such user");
  EXPECT_EQ(got->checked_at, 123);
  EXPECT_EQ(got->expires_at, 456);
}

TEST_P(VerifyStoreTest, UnknownAddressIsAbsentNotAnError) {
  put_live("user@example.test");
  EXPECT_FALSE(get("other@example.test").has_value());
}

TEST_P(VerifyStoreTest, ExpiredEntryIsNeitherReturnedNorListed) {
  put(entry("soon@example.test", VerifyResult::Valid, 100, 200));
  put(entry("later@example.test", VerifyResult::Valid, 100, 300));
  EXPECT_TRUE(get("soon@example.test", 199).has_value());
  EXPECT_FALSE(get("soon@example.test", 200).has_value()) << "expires_at is the first dead second";
  EXPECT_EQ(addresses(199), (std::vector<std::string>{"later@example.test", "soon@example.test"}));
  EXPECT_EQ(addresses(200), (std::vector<std::string>{"later@example.test"}));
}

TEST_P(VerifyStoreTest, PutOverwritesTheSameAddress) {
  put(entry("user@example.test", VerifyResult::Valid, 100, 1000));
  put(VerifyEntry{"user@example.test", VerifyResult::Invalid, "550 gone", 150, 900});
  const auto got = get("user@example.test");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->result, VerifyResult::Invalid);
  EXPECT_EQ(got->reply, "550 gone");
  EXPECT_EQ(got->checked_at, 150);
  EXPECT_EQ(addresses().size(), 1u);
}

TEST_P(VerifyStoreTest, ListIsOrderedByAddress) {
  for (const char* a : {"m@example.test", "a@example.test", "z@example.test", "b@other.test"}) {
    put_live(a);
  }
  EXPECT_EQ(addresses(), (std::vector<std::string>{"a@example.test", "b@other.test",
                                                   "m@example.test", "z@example.test"}));
}

TEST_P(VerifyStoreTest, EraseOneAddressLeavesTheOthers) {
  put_live("a@example.test");
  put_live("b@example.test");
  EXPECT_EQ(erase("a@example.test"), 1u);
  EXPECT_EQ(erase("a@example.test"), 0u);
  EXPECT_EQ(addresses(), (std::vector<std::string>{"b@example.test"}));
}

TEST_P(VerifyStoreTest, EraseDomainTakesOnlyThatDomain) {
  for (const char* a : {"a@example.test", "b@example.test", "a@xexample.test", "a@sub.example.test",
                        "a@example.test.other"}) {
    put_live(a);
  }
  EXPECT_EQ(erase("@example.test"), 2u);
  EXPECT_EQ(addresses(), (std::vector<std::string>{"a@example.test.other", "a@sub.example.test",
                                                   "a@xexample.test"}));
}

TEST_P(VerifyStoreTest, EraseDomainTreatsLikeWildcardsLiterally) {
  for (const char* a : {"a@ex_mple.test", "a@example.test", "b@e%.test", "b@eee.test"}) {
    put_live(a);
  }
  EXPECT_EQ(erase("@ex_mple.test"), 1u);
  EXPECT_EQ(erase("@e%.test"), 1u);
  EXPECT_EQ(addresses(), (std::vector<std::string>{"a@example.test", "b@eee.test"}));
}

TEST_P(VerifyStoreTest, EmptyPatternErasesEverything) {
  put_live("a@example.test");
  put_live("b@other.test");
  EXPECT_EQ(erase(""), 2u);
  EXPECT_TRUE(addresses().empty());
}

TEST_P(VerifyStoreTest, EraseExpiredRemovesOnlyDeadRows) {
  SQLITE_ONLY("purging rows; Redis keys expire by their TTL (redis_store_test checks the TTLs)");
  put(entry("dead@example.test", VerifyResult::Invalid, 100, 200));
  put(entry("alive@example.test", VerifyResult::Valid, 100, 1000));
  auto erased = verify().erase_expired(200);
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_EQ(erased.value(), 1u);
  // Even asked about a time before it expired, the dead row is gone from the file.
  EXPECT_FALSE(get("dead@example.test", 150).has_value());
  EXPECT_TRUE(get("alive@example.test", 150).has_value());
}

TEST_P(VerifyStoreTest, EntriesSurviveReopen) {
  put(VerifyEntry{"user@example.test", VerifyResult::Valid, "250 ok", 100, 1000});
  store_.reset();
  store_ = open();
  ASSERT_NE(store_, nullptr);
  const auto got = get("user@example.test");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->reply, "250 ok");
  EXPECT_EQ(got->expires_at, 1000);
}

TEST_P(VerifyStoreTest, ReadOnlyStoreReadsButRefusesWrites) {
  SQLITE_ONLY("a read-only SQLite file; Redis has no read-only open");
  put_live("user@example.test");
  auto reader = open(/*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  auto got = reader->verify().get_verify("user@example.test", 500);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got.value().has_value());
  EXPECT_FALSE(
      reader->verify().put_verify(entry("new@example.test", VerifyResult::Valid, 1, 2)).ok());
  EXPECT_FALSE(reader->verify().erase_verify("").ok());
  EXPECT_TRUE(get("user@example.test").has_value());
}

TEST_P(VerifyStoreTest, PathUnderARegularFileIsAnError) {
  SQLITE_ONLY("about SQLite files");
  const fs::path blocker = dir_ / "not-a-dir";
  std::ofstream(blocker) << "x";
  const fs::path path = blocker / "state.db";
  auto store = open_store({"sqlite", path, false});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find(path.string()), std::string::npos) << store.error().message;
}

TEST_P(VerifyStoreTest, PathThatIsADirectoryIsAnError) {
  SQLITE_ONLY("about SQLite files");
  auto store = open_store({"sqlite", dir_, false});
  EXPECT_FALSE(store.ok());
}

TEST_P(VerifyStoreTest, UnknownBackendIsAnError) {
  SQLITE_ONLY("about the backend names, not a backend");
  auto store = open_store({"memcached", dir_ / "state.db", false});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("memcached"), std::string::npos) << store.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, VerifyStoreTest, ::testing::ValuesIn(testing::store_backends()),
                         testing::backend_name);

} // namespace
} // namespace backstop::state
