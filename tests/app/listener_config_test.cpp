// listener_config_test: [[listener]] tables: kinds, defaults per kind, stale_since and its
// grace, and errors that name the listener and the key.
#include "app/config_loader.hpp"
#include "app/listener_config.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

using namespace std::chrono_literals;

const std::string base = "hostname = \"mx2.example.test\"\n[smtp]\nlisten = [\"127.0.0.1:25\"]\n"
                         "[[domain]]\nname = \"example.test\"\n";

Config parse_ok(const std::string& text) {
  auto result = parse_config(text, "listener.toml");
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << "unexpected error: " << errors->messages.front();
    return {};
  }
  return std::get<Config>(result);
}

std::string first_error(const std::string& text) {
  auto result = parse_config(text, "listener.toml");
  auto* errors = std::get_if<ConfigErrors>(&result);
  return errors == nullptr ? "" : errors->messages.front();
}

TEST(ListenerConfig, KindsAndTheirDefaults) {
  const Config c = parse_ok(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"refuse\"\n"
                                   "name = \"nolist\"\ncount_hits = true\n"
                                   "[[listener]]\naddress = \"127.0.0.10:25\"\nkind = \"defer\"\n"
                                   "[[listener]]\naddress = \"127.0.0.11:25\"\nkind = \"tarpit\"\n"
                                   "[[listener]]\naddress = \"127.0.0.12:25\"\n");
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].kind, "refuse");
  EXPECT_EQ(c.listeners[0].name, "nolist");
  EXPECT_TRUE(c.listeners[0].count_hits);
  EXPECT_EQ(c.listeners[1].max_duration, 60s);
  EXPECT_EQ(c.listeners[1].max_commands, 20u);
  EXPECT_EQ(c.listeners[2].max_duration, 600s);
  EXPECT_EQ(c.listeners[2].stutter, 1000ms); // spamd's -s 1
  EXPECT_EQ(c.listeners[2].max_bytes_per_second, 4000u);
  EXPECT_EQ(trap_listener(c.listeners[2]).max_bytes_per_second, 4000u);
  EXPECT_EQ(c.listeners[3].kind, "smtp");
  const auto t = trap_listener(c.listeners[1]);
  EXPECT_EQ(t.kind, trap::Kind::Defer);
  EXPECT_EQ(t.label, "defer 127.0.0.10:25");
  EXPECT_FALSE(t.stale_after);
}

TEST(ListenerConfig, StaleSinceAndGrace) {
  const Config c = parse_ok(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"smtp\"\n"
                                   "stale_since = \"2026-01-31\"\n"
                                   "[[listener]]\naddress = \"127.0.0.10:25\"\nkind = \"defer\"\n"
                                   "stale_since = \"2026-01-31\"\nstale_grace = \"1h\"\n");
  const std::int64_t midnight = 1769817600; // 2026-01-31T00:00:00Z
  EXPECT_EQ(c.listeners[0].stale_since_unix, midnight);
  EXPECT_EQ(*trap_listener(c.listeners[0]).stale_after, midnight + 2 * 86400);
  EXPECT_EQ(*trap_listener(c.listeners[1]).stale_after, midnight + 3600);
}

TEST(ListenerConfig, ErrorsNameTheListenerAndKey) {
  EXPECT_NE(first_error(base + "[[listener]]\nkind = \"defer\"\n").find("listener[0].address"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"honeypot\"\n")
                .find("listener[0].kind"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"defer\"\n"
                               "count_hits = true\n")
                .find("anti-poisoning"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"refuse\"\n"
                               "stutter = 100\n")
                .find("listener[0].stutter"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.9:25\"\n"
                               "stale_since = \"2026-02-30\"\n")
                .find("listener[0].stale_since"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.1:25\"\nkind = \"defer\"\n")
                .find("already a listener"),
            std::string::npos);
  EXPECT_NE(first_error(base + "[[listener]]\naddress = \"127.0.0.9:25\"\nkind = \"tarpit\"\n"
                               "colour = \"red\"\n")
                .find("colour"),
            std::string::npos);
}

TEST(ListenerConfig, ProxyProtocolAndItsDefaults) {
  const Config c = parse_ok(base + "[[listener]]\naddress = \"127.0.0.9:2525\"\n"
                                   "proxy_protocol = true\n"
                                   "[[listener]]\naddress = \"127.0.0.10:2525\"\n"
                                   "proxy_protocol = true\nproxy_timeout = \"2s\"\n"
                                   "trusted_proxies = [\"192.0.2.0/24\", \"2001:db8::1\"]\n"
                                   "[[listener]]\naddress = \"127.0.0.11:25\"\n");
  ASSERT_EQ(c.listeners.size(), 3u);
  const auto loopback = proxy_settings(c.listeners[0]);
  ASSERT_TRUE(loopback);
  EXPECT_EQ(loopback->timeout, 5000ms);
  ASSERT_EQ(loopback->trusted.size(), 2u); // 127.0.0.0/8 and ::1
  EXPECT_TRUE(loopback->trusted[0].contains("127.0.0.20"));
  EXPECT_TRUE(loopback->trusted[1].contains("::1"));
  const auto listed = proxy_settings(c.listeners[1]);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->timeout, 2000ms);
  EXPECT_TRUE(mail::any_contains(listed->trusted, "192.0.2.77"));
  EXPECT_FALSE(mail::any_contains(listed->trusted, "127.0.0.1"));
  EXPECT_FALSE(proxy_settings(c.listeners[2]));
}

TEST(ListenerConfig, ProxyKeysAreChecked) {
  const std::string l = "[[listener]]\naddress = \"127.0.0.9:2525\"\n";
  EXPECT_NE(first_error(base + l + "trusted_proxies = [\"127.0.0.1\"]\n")
                .find("listener[0].trusted_proxies"),
            std::string::npos);
  EXPECT_NE(first_error(base + l + "proxy_timeout = \"3s\"\n").find("without proxy_protocol"),
            std::string::npos);
  EXPECT_NE(first_error(base + l + "proxy_protocol = true\ntrusted_proxies = [\"nope\"]\n")
                .find("\"nope\" is not a network"),
            std::string::npos);
  EXPECT_NE(first_error(base + l + "proxy_protocol = true\ntrusted_proxies = []\n").find("empty"),
            std::string::npos);
  EXPECT_NE(first_error(base + l + "proxy_protocol = true\nproxy_timeout = \"2m\"\n")
                .find("between 1s and 60s"),
            std::string::npos);
}

} // namespace
} // namespace backstop::app
