// recipient_list_test: the static recipient list: what a line means, what it matches
// (case-insensitively, whole domains with "@domain"), and errors that name the line.
#include "policy/recipient_list.hpp"
#include "test_names.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::policy {
namespace {

RecipientList parse_ok(std::string_view text) {
  auto list = RecipientList::parse(text, "list.txt");
  if (!list.ok()) {
    ADD_FAILURE() << "unexpected error: " << list.error().message;
    return {};
  }
  return std::move(list.value());
}

std::string parse_error(std::string_view text) {
  auto list = RecipientList::parse(text, "list.txt");
  if (list.ok()) {
    ADD_FAILURE() << "expected an error for: " << text;
    return {};
  }
  return list.error().message;
}

TEST(RecipientList, CommentsAndBlankLinesAreSkipped) {
  const auto list = parse_ok("# staff\n\n   \nalice@example.test  # the boss\n\t\n# end\n");
  EXPECT_EQ(list.size(), 1u);
  EXPECT_TRUE(list.contains({"alice", "example.test"}));
  EXPECT_FALSE(list.contains({"bob", "example.test"}));
}

TEST(RecipientList, CrlfLinesAndMissingFinalNewline) {
  const auto list = parse_ok("alice@example.test\r\nbob@example.test\r\ncarol@example.test");
  EXPECT_EQ(list.size(), 3u);
  EXPECT_TRUE(list.contains({"alice", "example.test"}));
  EXPECT_TRUE(list.contains({"bob", "example.test"}));
  EXPECT_TRUE(list.contains({"carol", "example.test"}));
}

TEST(RecipientList, AtDomainCoversEveryAddressOfThatDomainOnly) {
  const auto list = parse_ok("@catchall.test\n");
  EXPECT_TRUE(list.contains({"anyone", "catchall.test"}));
  EXPECT_TRUE(list.contains({"Other.Person", "catchall.test"}));
  EXPECT_FALSE(list.contains({"anyone", "sub.catchall.test"}));
  EXPECT_FALSE(list.contains({"anyone", "xcatchall.test"}));
}

TEST(RecipientList, LocalPartComparesCaseInsensitively) {
  const auto list = parse_ok("Alice.Smith@example.test\n");
  EXPECT_TRUE(list.contains({"alice.smith", "example.test"}));
  EXPECT_TRUE(list.contains({"ALICE.SMITH", "example.test"}));
  EXPECT_FALSE(list.contains({"alice.smit", "example.test"}));
}

TEST(RecipientList, DomainIsNormalisedLikeAddresses) {
  // Recipients arrive with normalised domains: lower case, no trailing dot.
  const auto list = parse_ok("bob@Example.TEST.\n@Wild.Example.\n");
  EXPECT_TRUE(list.contains({"bob", "example.test"}));
  EXPECT_TRUE(list.contains({"x", "wild.example"}));
  EXPECT_FALSE(list.contains({"bob", "other.test"}));
}

TEST(RecipientList, SameLocalPartInAnotherDomainIsNotListed) {
  const auto list = parse_ok("bob@example.test\n");
  EXPECT_FALSE(list.contains({"bob", "example.org"}));
}

TEST(RecipientList, EmptyTextIsAnEmptyList) {
  const auto list = parse_ok("");
  EXPECT_EQ(list.size(), 0u);
  EXPECT_FALSE(list.contains({"bob", "example.test"}));
}

struct BadLine {
  const char* label;
  std::string text;
  std::string line; // "line N"
};

void PrintTo(const BadLine& c, std::ostream* os) { *os << c.label; }

class RecipientListErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(RecipientListErrors, NamesSourceAndLine) {
  const auto message = parse_error(GetParam().text);
  EXPECT_NE(message.find("list.txt " + GetParam().line + ":"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RecipientListErrors,
    ::testing::Values(BadLine{"no at", "ok@example.test\nexample.test\n", "line 2"},
                      BadLine{"nothing after at", "# c\n\nuser@\n", "line 3"},
                      BadLine{"bare at", "@\n", "line 1"},
                      BadLine{"two words", "a@example.test b@example.test\n", "line 1"},
                      BadLine{"crlf counted once", "a@example.test\r\nb@example.test\r\nbad\r\n",
                              "line 3"}),
    backstop::testing::LabelName());

TEST(RecipientList, ErrorQuotesTheBadEntry) {
  const auto message = parse_error("not-an-address\n");
  EXPECT_NE(message.find("\"not-an-address\""), std::string::npos) << message;
}

TEST(RecipientList, LoadReadsAFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("recipient_list_test_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << "alice@example.test\n@catchall.test\n";
  auto list = RecipientList::load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 2u);
  EXPECT_TRUE(list->contains({"alice", "example.test"}));
}

TEST(RecipientList, LoadErrorNamesTheFileAndLine) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("recipient_list_test_bad_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << "alice@example.test\nbroken\n";
  auto list = RecipientList::load(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find(path.string() + " line 2"), std::string::npos)
      << list.error().message;
}

TEST(RecipientList, LoadOfAMissingFileIsAnError) {
  const auto path = std::filesystem::temp_directory_path() / "recipient_list_test_missing.txt";
  std::filesystem::remove(path);
  auto list = RecipientList::load(path);
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find(path.string()), std::string::npos) << list.error().message;
}

} // namespace
} // namespace backstop::policy
