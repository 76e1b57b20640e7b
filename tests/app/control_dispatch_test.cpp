#include "admin/control_dispatch.hpp"
#include "app/config_summary.hpp"

#include <gtest/gtest.h>

namespace backstop::admin {
namespace {

TEST(ControlDispatcher, PrimaryStatusComesFromTheMonitorsView) {
  ControlServices services;
  services.primaries = [] {
    return std::vector<PrimaryDomainView>{{"example.org",
                                           "down",
                                           "probe: refused",
                                           {{"mx1.example.org", "down", 3, 0, 10, 20, "x"}}}};
  };
  ControlDispatcher dispatcher(services);
  const auto answer = dispatcher.handle({{"command", "primary"}});
  ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
  EXPECT_EQ(answer["domains"][0]["domain"], "example.org");
  EXPECT_EQ(answer["domains"][0]["state"], "down");
  EXPECT_EQ(answer["domains"][0]["hosts"][0]["failures"], 3);
}

TEST(ControlDispatcher, WithoutAStoreTheStoreRequestsSaySo) {
  ControlDispatcher dispatcher(ControlServices{});
  for (const char* command : {"offenders", "blacklist", "primary_history"}) {
    const auto answer = dispatcher.handle({{"command", command}});
    EXPECT_FALSE(answer.value("ok", true)) << command;
    EXPECT_EQ(answer.value("error", ""), "no state store") << command;
  }
}

TEST(ControlDispatcher, AConfigSummaryThatCannotBeReadIsAnError) {
  ControlServices services;
  services.config_summary = [] { return nlohmann::json(nullptr); };
  EXPECT_FALSE(ControlDispatcher(services).handle({{"command", "config"}}).value("ok", true));
}

} // namespace
} // namespace backstop::admin

namespace backstop::app {
namespace {

TEST(ConfigSummary, ShowsNoSecret) {
  Config config;
  config.hostname = "mx2.example.org";
  config.admin.token = "very-secret";
  config.domains.push_back({});
  config.domains.back().name = "example.org";
  const auto text = config_summary(config).dump();
  EXPECT_EQ(text.find("very-secret"), std::string::npos);
  const auto summary = config_summary(config);
  EXPECT_EQ(summary["admin"]["token_set"], true);
  EXPECT_EQ(summary["domains"][0]["name"], "example.org");
  EXPECT_EQ(summary["hostname"], "mx2.example.org");
}

} // namespace
} // namespace backstop::app
