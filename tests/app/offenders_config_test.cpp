// offenders_config_test: [offenders] read into the blacklist's rules and allowlist (with the
// client networks of [checks.allowlist]), its errors, the words of a new listing, the CLI's
// durations, and the DNSBL names of the exported zone.
#include "app/blacklist_command.hpp"
#include "app/blacklist_zone.hpp"
#include "app/config_loader.hpp"
#include "app/offenders.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

const std::string minimal =
    "hostname = \"mx2.example.test\"\n[[domain]]\nname = \"example.test\"\n";

std::variant<Config, ConfigErrors> parse(const std::string& extra) {
  return parse_config(minimal + extra, "test.toml");
}

Config load_ok(const std::string& extra) {
  auto result = parse(extra);
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << "unexpected errors: " << errors->messages.front();
    return {};
  }
  return std::get<Config>(result);
}

std::string first_error(const std::string& extra) {
  auto result = parse(extra);
  auto* errors = std::get_if<ConfigErrors>(&result);
  return errors == nullptr ? "" : errors->messages.front();
}

TEST(OffendersConfig, DefaultsAreTheIssuesExample) {
  const auto rules = blacklist_rules(load_ok("").offenders);
  EXPECT_EQ(rules.threshold, 5u);
  EXPECT_EQ(rules.window, 86400);
  EXPECT_EQ(rules.listing, 7 * 86400);
  EXPECT_EQ(rules.keep_offenses, 30 * 86400);
}

TEST(OffendersConfig, ReadsRulesAndAllowlists) {
  const Config c = load_ok(R"(
[offenders]
threshold = 3
window = "2h"
listing = "1d"
keep_offenses = "7d"
allow_networks = ["192.0.2.0/24"]
allow_ptr_suffixes = [".Mail.Big.Example."]
[checks.allowlist]
networks = ["198.51.100.7"]
)");
  const auto rules = blacklist_rules(c.offenders);
  EXPECT_EQ(rules.threshold, 3u);
  EXPECT_EQ(rules.window, 7200);
  EXPECT_EQ(rules.listing, 86400);
  EXPECT_EQ(rules.keep_offenses, 7 * 86400);
  const auto allow = offender_allowlist(c);
  EXPECT_EQ(allow.match("192.0.2.9", ""), "network 192.0.2.0/24");
  EXPECT_EQ(allow.match("198.51.100.7", ""), "network 198.51.100.7") << "[checks.allowlist]";
  EXPECT_EQ(allow.match("203.0.113.1", "out1.mail.big.example"),
            "PTR name out1.mail.big.example ends in mail.big.example");
  EXPECT_EQ(allow.match("203.0.113.1", "evilmail.big.example"), "");
  EXPECT_EQ(allow.match("203.0.113.1", ""), "");
}

TEST(OffendersConfig, AllowlistCheckSwitchedOffDoesNotCount) {
  const Config c = load_ok("[checks.allowlist]\nmode = \"off\"\nnetworks = [\"198.51.100.7\"]\n");
  EXPECT_EQ(offender_allowlist(c).match("198.51.100.7", ""), "");
}

TEST(OffendersConfig, ErrorsNameTheirKeys) {
  EXPECT_NE(first_error("[offenders]\nallow_networks = [\"nonsense\"]\n")
                .find("offenders.allow_networks"),
            std::string::npos);
  EXPECT_NE(first_error("[offenders]\nwindow = \"7d\"\nkeep_offenses = \"1d\"\n")
                .find("offenders.keep_offenses"),
            std::string::npos);
  EXPECT_NE(first_error("[offenders]\nlisting = 0\n").find("offenders.listing"), std::string::npos);
  EXPECT_NE(first_error("[offenders]\nthresold = 3\n").find("thresold"), std::string::npos)
      << "an unknown key";
}

TEST(OffendersConfig, NewListingWords) {
  state::RecordOutcome o;
  o.newly_listed = true;
  o.listed = state::Listing{"192.0.2.7", 1000, 1000 + 7 * 86400, "5 offenses within 1 d", false};
  EXPECT_EQ(new_listing_words(o), "blacklisted 192.0.2.7 for 7 d: 5 offenses within 1 d");
  o.newly_listed = false;
  EXPECT_EQ(new_listing_words(o), "") << "listed before: nothing new to say";
}

TEST(BlacklistCli, Durations) {
  EXPECT_EQ(parse_cli_duration("90s"), 90);
  EXPECT_EQ(parse_cli_duration("90"), 90);
  EXPECT_EQ(parse_cli_duration("4h"), 4 * 3600);
  EXPECT_EQ(parse_cli_duration("7d"), 7 * 86400);
  EXPECT_EQ(parse_cli_duration("2w"), 14 * 86400);
  EXPECT_EQ(parse_cli_duration(""), std::nullopt);
  EXPECT_EQ(parse_cli_duration("soon"), std::nullopt);
  EXPECT_EQ(parse_cli_duration("5y"), std::nullopt);
}

TEST(BlacklistZone, DnsblNames) {
  EXPECT_EQ(dnsbl_name("192.0.2.7", "bl.example"), "7.2.0.192.bl.example");
  EXPECT_EQ(dnsbl_name("::ffff:192.0.2.7", "bl.example"), "7.2.0.192.bl.example");
  EXPECT_EQ(dnsbl_name("2001:db8::7", "bl.example"),
            "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  EXPECT_EQ(dnsbl_name("nonsense", "bl.example"), std::nullopt);
}

TEST(BlacklistZone, BindZoneHasSoaNsAndCleanTxt) {
  const std::vector<state::Listing> listed{{"192.0.2.7", 0, 0, "said \"hi\"; bye", true},
                                           {"2001:db8::7", 0, 0, "v6", false}};
  const std::string zone =
      bind_zone(listed, {"bl.example", "ns.example", "hostmaster.example", 2026120101, 300});
  EXPECT_NE(zone.find("$ORIGIN bl.example.\n"), std::string::npos) << zone;
  EXPECT_NE(zone.find("@ IN SOA ns.example. hostmaster.example. 2026120101 "), std::string::npos);
  EXPECT_NE(zone.find("@ IN NS ns.example.\n"), std::string::npos);
  EXPECT_NE(zone.find("7.2.0.192 IN A 127.0.0.2\n"), std::string::npos);
  EXPECT_NE(zone.find("7.2.0.192 IN TXT \"Listed by backstop: said  hi   bye\"\n"),
            std::string::npos)
      << zone;
  EXPECT_NE(zone.find("8.b.d.0.1.0.0.2 IN A 127.0.0.2\n"), std::string::npos);
}

TEST(BlacklistZone, RbldnsdKeepsEachFamilyApart) {
  const std::vector<state::Listing> listed{{"192.0.2.7", 0, 0, "costs $5", true},
                                           {"2001:db8::7", 0, 0, "v6", false}};
  const ZoneOptions o{"bl.example", "ns.example", "hostmaster.example", 0, 300};
  const std::string v4 = rbldnsd_zone(listed, IpFamily::V4, o);
  const std::string v6 = rbldnsd_zone(listed, IpFamily::V6, o);
  EXPECT_NE(v4.find("\n192.0.2.7 :127.0.0.2:Listed by backstop: costs  5\n"), std::string::npos)
      << v4;
  EXPECT_EQ(v4.find("2001:db8::7"), std::string::npos);
  EXPECT_NE(v6.find("\n2001:db8::7 :127.0.0.2:Listed by backstop: v6\n"), std::string::npos) << v6;
  EXPECT_EQ(v6.find("192.0.2.7"), std::string::npos);
  EXPECT_NE(v4.find("$SOA 300 ns.example. hostmaster.example. 0 "), std::string::npos);
}

} // namespace
} // namespace backstop::app
