#include "admin/http_admin.hpp"
#include "admin/prometheus.hpp"

#include <gtest/gtest.h>

namespace backstop::admin {
namespace {

TEST(ApiRequest, PathsMapOntoControlRequests) {
  EXPECT_EQ(api_request("GET", "/api/queue"), (nlohmann::json{{"command", "list"}}));
  EXPECT_EQ(api_request("GET", "/api/queue/ABC"),
            (nlohmann::json{{"command", "show"}, {"id", "ABC"}}));
  EXPECT_EQ(api_request("POST", "/api/queue/ABC/hold"),
            (nlohmann::json{{"command", "hold"}, {"id", "ABC"}}));
  EXPECT_EQ(api_request("POST", "/api/flush", {{"domain", "example.org"}}),
            (nlohmann::json{{"command", "flush"}, {"domain", "example.org"}}));
  EXPECT_EQ(api_request("POST", "/api/cache/flush", {{"pattern", "@example.org"}}),
            (nlohmann::json{{"command", "cache_flush"}, {"pattern", "@example.org"}}));
  EXPECT_EQ(api_request("GET", "/api/stats"), (nlohmann::json{{"command", "stats"}}));
  EXPECT_EQ(api_request("GET", "/api/primary"), (nlohmann::json{{"command", "primary"}}));
  EXPECT_EQ(api_request("GET", "/api/primary/history", {{"domain", "example.org"}}),
            (nlohmann::json{{"command", "primary_history"},
                            {"domain", "example.org"},
                            {"since", ""},
                            {"limit", ""}}));
  EXPECT_EQ(api_request("GET", "/api/offenders", {{"address", "192.0.2.7"}, {"since", "5"}}),
            (nlohmann::json{{"command", "offenders"}, {"address", "192.0.2.7"}, {"since", "5"}}));
  EXPECT_EQ(api_request("GET", "/api/blacklist"), (nlohmann::json{{"command", "blacklist"}}));
  EXPECT_EQ(api_request("GET", "/api/config"), (nlohmann::json{{"command", "config"}}));
}

TEST(ApiRequest, ChangesNeedPostAndUnknownPathsAreNull) {
  EXPECT_TRUE(api_request("GET", "/api/queue/ABC/delete").is_null());
  EXPECT_TRUE(api_request("POST", "/api/queue").is_null());
  EXPECT_TRUE(api_request("GET", "/api/flush").is_null());
  EXPECT_TRUE(api_request("GET", "/other").is_null());
  EXPECT_TRUE(api_request("POST", "/api/queue/ABC/bounce").is_null());
  EXPECT_TRUE(api_request("POST", "/api/config").is_null());
  EXPECT_TRUE(api_request("POST", "/api/blacklist").is_null());
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

TEST(Prometheus, HistogramsSessionsListenersAndPrimaries) {
  metrics::Counters counters;
  counters.fsync_seconds.observe(0.0002);
  counters.fsync_seconds.observe(7);
  counters.session_ended(metrics::SessionOutcome::Mail);
  counters.listener("trap \"one\"", "tarpit").accepted();
  const auto text = prometheus_text(counters, {}, {{"example.org", true}, {"b.example", false}});
  EXPECT_NE(text.find("# TYPE backstop_fsync_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_bucket{le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_bucket{le=\"0.00025\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_bucket{le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_sum 7.0002\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_fsync_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_sessions_total{outcome=\"mail\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_sessions_total{outcome=\"dropped\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_listener_connections_total{listener=\"trap \\\"one\\\"\","
                      "kind=\"tarpit\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("backstop_primary_up{domain=\"example.org\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("backstop_primary_up{domain=\"b.example\"} 0\n"), std::string::npos);
}

TEST(Prometheus, LabelValuesAreEscaped) { EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

} // namespace
} // namespace backstop::admin
