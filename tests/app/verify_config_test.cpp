// verify_config_test: the recipient-verification options: [verify] and its defaults, the
// per-domain verify / unverified / recipients keys, bounce = "verified-sender", and errors
// that name the key and the line.
#include "app/config_loader.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

using namespace std::chrono_literals;

// Lines 1-3; a section appended after it starts on line 4.
const std::string base = "hostname = \"mx2.example.test\"\n[[domain]]\nname = \"example.test\"\n";

Config parse_ok(const std::string& text) {
  auto result = parse_config(text, "verify.toml");
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << "unexpected error: " << errors->messages.front();
    return {};
  }
  return std::get<Config>(result);
}

TEST(VerifyConfig, FallbackSenderIsReadAndEmptyByDefault) {
  EXPECT_EQ(parse_ok(base).verify.fallback_sender, "");
  const Config c = parse_ok(base + "[verify]\nfallback_sender = \"verify@mx2.example.test\"\n");
  EXPECT_EQ(c.verify.fallback_sender, "verify@mx2.example.test");
  EXPECT_EQ(c.verify.sender, "");
}

TEST(VerifyConfig, AbsentSectionKeepsEveryDefault) {
  const VerifyConfig defaults;
  const Config c = parse_ok(base);
  EXPECT_EQ(c.verify.callout, defaults.callout);
  EXPECT_EQ(c.verify.sender, defaults.sender);
  EXPECT_EQ(c.verify.timeout, defaults.timeout);
  EXPECT_EQ(c.verify.positive_ttl, defaults.positive_ttl);
  EXPECT_EQ(c.verify.positive_refresh, defaults.positive_refresh);
  EXPECT_EQ(c.verify.negative_ttl, defaults.negative_ttl);
  EXPECT_EQ(c.verify.max_connections_per_primary, defaults.max_connections_per_primary);
  EXPECT_EQ(c.verify.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(c.verify.primary_down_backoff, defaults.primary_down_backoff);
  EXPECT_EQ(c.verify.cache_size, defaults.cache_size);
  EXPECT_EQ(c.verify.unverified, defaults.unverified);
  EXPECT_EQ(c.verify.max_unknown_recipients, defaults.max_unknown_recipients);
  EXPECT_EQ(c.verify.unknown_recipient_delay, defaults.unknown_recipient_delay);
  EXPECT_EQ(c.verify.sender_domain, defaults.sender_domain);
  EXPECT_EQ(c.delivery.bounce, BounceConfig::Always);
}

TEST(VerifyConfig, DefaultsAreSafeForABackupMx) {
  const VerifyConfig v = parse_ok(base).verify;
  EXPECT_TRUE(v.callout);
  EXPECT_TRUE(v.sender.empty()) << "callouts use the null sender";
  EXPECT_EQ(v.unverified, policy::UnverifiedPolicy::VerifiedSender)
      << "unverified = \"verified-sender\": no backscatter, real senders still taken";
  EXPECT_LE(v.positive_refresh, v.positive_ttl);
  EXPECT_LT(v.negative_ttl, v.positive_ttl);
  EXPECT_GT(v.max_unknown_recipients, 0u);
}

TEST(VerifyConfig, EveryKeyIsRead) {
  const Config c = parse_ok(base + R"([verify]
callout = false
sender = "verify@mx2.example.test"
timeout = "20s"
positive_ttl = "10d"
positive_refresh = "2d"
negative_ttl = "30m"
max_connections_per_primary = 4
idle_timeout = 45
primary_down_backoff = "2m"
cache_size = 5000
unverified = "defer"
max_unknown_recipients = 0
unknown_recipient_delay = "3s"
sender_domain = false
)");
  const VerifyConfig& v = c.verify;
  EXPECT_FALSE(v.callout);
  EXPECT_EQ(v.sender, "verify@mx2.example.test");
  EXPECT_EQ(v.timeout, 20s);
  EXPECT_EQ(v.positive_ttl, 10 * 24h);
  EXPECT_EQ(v.positive_refresh, 2 * 24h);
  EXPECT_EQ(v.negative_ttl, 30min);
  EXPECT_EQ(v.max_connections_per_primary, 4u);
  EXPECT_EQ(v.idle_timeout, 45s);
  EXPECT_EQ(v.primary_down_backoff, 2min);
  EXPECT_EQ(v.cache_size, 5000u);
  EXPECT_EQ(v.unverified, policy::UnverifiedPolicy::Defer);
  EXPECT_EQ(v.max_unknown_recipients, 0u);
  EXPECT_EQ(v.unknown_recipient_delay, 3s);
  EXPECT_FALSE(v.sender_domain);
}

TEST(VerifyConfig, DomainKeysOverrideOnlyWhereSet) {
  const Config c = parse_ok(R"(hostname = "mx2.example.test"
[[domain]]
name = "strict.test"
verify = false
unverified = "defer"
recipients = "/etc/backstop/strict.txt"
[[domain]]
name = "plain.test"
)");
  ASSERT_EQ(c.domains.size(), 2u);
  const auto& strict = c.domains[0];
  EXPECT_EQ(strict.verify, std::optional<bool>(false));
  EXPECT_EQ(strict.unverified, std::optional(policy::UnverifiedPolicy::Defer));
  EXPECT_EQ(strict.recipients, std::filesystem::path("/etc/backstop/strict.txt"));
  const auto& plain = c.domains[1];
  EXPECT_FALSE(plain.verify.has_value()) << "unset: [verify] callout decides";
  EXPECT_FALSE(plain.unverified.has_value()) << "unset: [verify] unverified decides";
  EXPECT_TRUE(plain.recipients.empty());
}

TEST(VerifyConfig, DomainCanAcceptUnverifiedWhereTheDefaultDefers) {
  const Config c = parse_ok(R"(hostname = "mx2.example.test"
[verify]
unverified = "defer"
[[domain]]
name = "lenient.test"
unverified = "accept"
)");
  EXPECT_EQ(c.verify.unverified, policy::UnverifiedPolicy::Defer);
  EXPECT_EQ(c.domains[0].unverified, std::optional(policy::UnverifiedPolicy::Accept));
}

TEST(VerifyConfig, UnverifiedVerifiedSenderGloballyAndPerDomain) {
  const Config c = parse_ok(R"(hostname = "mx2.example.test"
[verify]
unverified = "accept"
[[domain]]
name = "careful.test"
unverified = "verified-sender"
)");
  EXPECT_EQ(c.verify.unverified, policy::UnverifiedPolicy::Accept);
  EXPECT_EQ(c.domains[0].unverified, std::optional(policy::UnverifiedPolicy::VerifiedSender));
  const Config g = parse_ok(base + "[verify]\nunverified = \"verified-sender\"\n");
  EXPECT_EQ(g.verify.unverified, policy::UnverifiedPolicy::VerifiedSender);
}

TEST(VerifyConfig, BounceVerifiedSender) {
  const Config c = parse_ok(base + "[delivery]\nbounce = \"verified-sender\"\n");
  EXPECT_EQ(c.delivery.bounce, BounceConfig::VerifiedSender);
}

struct BadValue {
  const char* label;
  std::string text;
  std::string expected; // substring of one message: key, line, complaint
};

void PrintTo(const BadValue& c, std::ostream* os) { *os << c.label; }

class VerifyConfigErrors : public ::testing::TestWithParam<BadValue> {};

TEST_P(VerifyConfigErrors, NameKeyAndLine) {
  auto result = parse_config(GetParam().text, "verify.toml");
  const auto* errors = std::get_if<ConfigErrors>(&result);
  ASSERT_NE(errors, nullptr) << "accepted: " << GetParam().text;
  bool found = false;
  for (const auto& m : errors->messages) {
    found = found || m.find(GetParam().expected) != std::string::npos;
  }
  EXPECT_TRUE(found) << "want \"" << GetParam().expected << "\", got \"" << errors->messages.front()
                     << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VerifyConfigErrors,
    ::testing::Values(
        BadValue{"unverified maybe", base + "[verify]\nunverified = \"maybe\"\n",
                 "verify.unverified (line 5): must be \"accept\", \"defer\" or "
                 "\"verified-sender\""},
        BadValue{"domain unverified maybe", base + "unverified = \"maybe\"\n",
                 "domain[0].unverified (line 4)"},
        BadValue{"timeout zero", base + "[verify]\ntimeout = 0\n",
                 "verify.timeout (line 5): must be at least 1s"},
        BadValue{"refresh longer than ttl",
                 base + "[verify]\npositive_ttl = \"5d\"\npositive_refresh = \"6d\"\n",
                 "verify.positive_refresh (line 6): must not be longer than positive_ttl"},
        BadValue{"sender without at", base + "[verify]\nsender = \"bad\"\n",
                 "verify.sender (line 5)"},
        BadValue{"sender with brackets", base + "[verify]\nsender = \"<v@example.test>\"\n",
                 "verify.sender (line 5)"},
        BadValue{"fallback sender without at", base + "[verify]\nfallback_sender = \"bad\"\n",
                 "verify.fallback_sender (line 5): must be"},
        BadValue{"fallback sender with sender",
                 base + "[verify]\nsender = \"a@example.test\"\nfallback_sender = "
                        "\"b@example.test\"\n",
                 "verify.fallback_sender (line 6): is unused when sender is set"},
        BadValue{"callout not a boolean", base + "[verify]\ncallout = \"yes\"\n",
                 "verify.callout (line 5): must be true or false"},
        BadValue{"domain verify not a boolean", base + "verify = 1\n",
                 "domain[0].verify (line 4): must be true or false"},
        BadValue{"cache size too small", base + "[verify]\ncache_size = 1\n",
                 "verify.cache_size (line 5): must be between"},
        BadValue{"bad ttl", base + "[verify]\nnegative_ttl = \"3 hours\"\n",
                 "verify.negative_ttl (line 5): must be a duration"},
        BadValue{"unknown verify key", base + "[verify]\ncallouts = true\n",
                 "verify.callouts (line 5): unknown key"},
        BadValue{"bad bounce", base + "[delivery]\nbounce = \"sometimes\"\n",
                 "delivery.bounce (line 5)"}),
    backstop::testing::LabelName());

} // namespace
} // namespace backstop::app
