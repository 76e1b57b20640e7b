#include "admin/http_admin.hpp"
#include "admin/prometheus.hpp"

#include <gtest/gtest.h>

namespace backstop::admin {
namespace {

TEST(ApiRequest, PathsMapOntoControlRequests) {
  EXPECT_EQ(api_request("GET", "/api/queue", "", ""), (nlohmann::json{{"command", "list"}}));
  EXPECT_EQ(api_request("GET", "/api/queue/ABC", "", ""),
            (nlohmann::json{{"command", "show"}, {"id", "ABC"}}));
  EXPECT_EQ(api_request("POST", "/api/queue/ABC/hold", "", ""),
            (nlohmann::json{{"command", "hold"}, {"id", "ABC"}}));
  EXPECT_EQ(api_request("POST", "/api/flush", "example.org", ""),
            (nlohmann::json{{"command", "flush"}, {"domain", "example.org"}}));
  EXPECT_EQ(api_request("POST", "/api/cache/flush", "", "@example.org"),
            (nlohmann::json{{"command", "cache_flush"}, {"pattern", "@example.org"}}));
  EXPECT_EQ(api_request("GET", "/api/stats", "", ""), (nlohmann::json{{"command", "stats"}}));
}

TEST(ApiRequest, ChangesNeedPostAndUnknownPathsAreNull) {
  EXPECT_TRUE(api_request("GET", "/api/queue/ABC/delete", "", "").is_null());
  EXPECT_TRUE(api_request("POST", "/api/queue", "", "").is_null());
  EXPECT_TRUE(api_request("GET", "/api/flush", "", "").is_null());
  EXPECT_TRUE(api_request("GET", "/other", "", "").is_null());
  EXPECT_TRUE(api_request("POST", "/api/queue/ABC/bounce", "", "").is_null());
}

TEST(Prometheus, CountersRefusalsAndGauges) {
  metrics::Counters counters;
  counters.add(metrics::Counter::MessagesAccepted, 3);
  counters.refused("RCPT", "reject", "relay_domains");
  const auto text = prometheus_text(counters, {{"queue_messages", "Messages.", 2}});
  EXPECT_NE(text.find("backstop_messages_accepted_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE backstop_messages_accepted_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_refusals_total{stage=\"RCPT\",decision=\"reject\","
                      "check=\"relay_domains\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE backstop_queue_messages gauge\nbackstop_queue_messages 2\n"),
            std::string::npos);
}

TEST(Prometheus, LabelValuesAreEscaped) { EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

} // namespace
} // namespace backstop::admin
