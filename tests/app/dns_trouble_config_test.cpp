// dns_trouble_config_test: the options of issue 11's routing and DNS-trouble items: their
// defaults, per-domain overrides, and errors that name key and line.
#include "app/config_loader.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

using namespace std::chrono_literals;

std::variant<Config, ConfigErrors> parse(const std::string& body) {
  return parse_config("hostname = \"mx2.example.test\"\n" + body, "test.toml");
}

std::string first_error(const std::string& body) {
  auto result = parse(body);
  auto* errors = std::get_if<ConfigErrors>(&result);
  return errors == nullptr ? std::string("(no error)") : errors->messages.front();
}

TEST(DnsTroubleConfig, Defaults) {
  auto result = parse("[[domain]]\nname = \"example.test\"\n");
  ASSERT_TRUE(std::holds_alternative<Config>(result));
  const auto& c = std::get<Config>(result);
  EXPECT_TRUE(c.smtp.reject_sender_routing);
  EXPECT_EQ(c.dns.temporary_failure_ttl, 5s);
  EXPECT_EQ(c.dns.min_ttl, 60s);
  EXPECT_EQ(c.dns.max_ttl, 86400s);
  EXPECT_FALSE(c.verify.accept_sender_dns_trouble);
  EXPECT_FALSE(c.domains[0].accept_sender_dns_trouble.has_value());
}

TEST(DnsTroubleConfig, EveryOptionIsRead) {
  auto result = parse(R"(
[smtp]
reject_sender_routing = false
[dns]
temporary_failure_ttl = "30s"
min_ttl = "10s"
max_ttl = "1h"
[verify]
sender_domain_dns_trouble = "accept"
[[domain]]
name = "strict.test"
sender_domain_dns_trouble = "defer"
[[domain]]
name = "open.test"
)");
  ASSERT_TRUE(std::holds_alternative<Config>(result)) << std::get<ConfigErrors>(result).messages[0];
  const auto& c = std::get<Config>(result);
  EXPECT_FALSE(c.smtp.reject_sender_routing);
  EXPECT_EQ(c.dns.temporary_failure_ttl, 30s);
  EXPECT_EQ(c.dns.min_ttl, 10s);
  EXPECT_EQ(c.dns.max_ttl, 3600s);
  EXPECT_TRUE(c.verify.accept_sender_dns_trouble);
  EXPECT_EQ(c.domains[0].accept_sender_dns_trouble, false);
  EXPECT_FALSE(c.domains[1].accept_sender_dns_trouble.has_value());
}

TEST(DnsTroubleConfig, ErrorsNameKeyAndLine) {
  const std::string domain = "[[domain]]\nname = \"example.test\"\n";
  auto e = first_error("[dns]\ntemporary_failure_ttl = \"10m\"\n" + domain);
  EXPECT_NE(e.find("dns.temporary_failure_ttl"), std::string::npos) << e;
  e = first_error("[dns]\nmin_ttl = \"2h\"\nmax_ttl = \"1h\"\n" + domain);
  EXPECT_NE(e.find("dns.max_ttl"), std::string::npos) << e;
  e = first_error("[verify]\nsender_domain_dns_trouble = \"maybe\"\n" + domain);
  EXPECT_NE(e.find("verify.sender_domain_dns_trouble"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  e = first_error("[[domain]]\nname = \"mx.localhost\"\n");
  EXPECT_NE(e.find("special-use"), std::string::npos) << e;
  e = first_error("[smtp]\nreject_sender_routing = \"yes\"\n" + domain);
  EXPECT_NE(e.find("smtp.reject_sender_routing"), std::string::npos) << e;
}

} // namespace
} // namespace backstop::app
