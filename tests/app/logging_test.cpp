#include "app/logging.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace backstop::app {
namespace {

nlohmann::json parsed(std::string_view message) {
  return nlohmann::json::parse(json_line("2026-12-01T10:00:00.000Z", "info", message));
}

TEST(JsonLine, PullsOutSessionQueueIdAndFields) {
  const auto line = parsed("session=6b0f.1 0006619708B04AA8: from=<a@b.example> size=185 nrcpt=1");
  EXPECT_EQ(line["session"], "6b0f.1");
  EXPECT_EQ(line["queue_id"], "0006619708B04AA8");
  EXPECT_EQ(line["fields"]["from"], "<a@b.example>");
  EXPECT_EQ(line["fields"]["nrcpt"], "1");
  EXPECT_EQ(line["message"], "from=<a@b.example> size=185 nrcpt=1");
  EXPECT_EQ(line["level"], "info");
}

TEST(JsonLine, QueueIdWithoutSession) {
  const auto line = parsed("0006619708B04AA8: to=<u@example.org> status=sent (250 2.0.0 Ok)");
  EXPECT_FALSE(line.contains("session"));
  EXPECT_EQ(line["queue_id"], "0006619708B04AA8");
  EXPECT_EQ(line["fields"]["status"], "sent");
}

TEST(JsonLine, PlainMessageHasNoIdsOrFields) {
  const auto line = parsed("listening on 127.0.0.1:25");
  EXPECT_FALSE(line.contains("session"));
  EXPECT_FALSE(line.contains("queue_id"));
  EXPECT_FALSE(line.contains("fields"));
  EXPECT_EQ(line["message"], "listening on 127.0.0.1:25");
}

TEST(JsonLine, UpperCaseKeysAndBareEqualsAreNotFields) {
  const auto line = parsed("Subject=x =y a=b");
  EXPECT_EQ(line["fields"].size(), 1u);
  EXPECT_EQ(line["fields"]["a"], "b");
}

TEST(JsonLine, InvalidUtf8IsReplacedNotThrown) {
  const std::string bad = "session=1.1 HELO \xff\xfe name";
  const auto line = parsed(bad);
  EXPECT_EQ(line["session"], "1.1");
  EXPECT_NE(line["message"].get<std::string>().find("HELO"), std::string::npos);
}

TEST(JsonLine, SixteenHexWithoutColonIsNoQueueId) {
  const auto line = parsed("0006619708B04AA8 removed");
  EXPECT_FALSE(line.contains("queue_id"));
}

} // namespace
} // namespace backstop::app
