// config_loader_test: valid files load with defaults; every error names its key and line.
#include "app/config_loader.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

Config load_ok(const std::string& text) {
  auto result = parse_config(text, "test.toml");
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << "unexpected errors: " << errors->messages.front();
    return {};
  }
  return std::get<Config>(result);
}

std::vector<std::string> load_errors(const std::string& text) {
  auto result = parse_config(text, "test.toml");
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    return errors->messages;
  }
  ADD_FAILURE() << "expected errors";
  return {};
}

const char* minimal = "hostname = \"mx2.example.test\"\n[[domain]]\nname = \"Example.TEST.\"\n";

TEST(ConfigLoader, MinimalFileGetsDefaults) {
  Config c = load_ok(minimal);
  EXPECT_EQ(c.hostname, "mx2.example.test");
  ASSERT_EQ(c.domains.size(), 1u);
  EXPECT_EQ(c.domains[0].name, "example.test");
  EXPECT_EQ(c.smtp.max_message_size, 26214400u);
  EXPECT_EQ(c.smtp.max_recipients, 100u);
  EXPECT_EQ(c.postmaster, "postmaster@example.test");
  EXPECT_EQ(c.control_socket(), std::filesystem::path("/var/spool/backstop/control.sock"));
}

TEST(ConfigLoader, FullExampleParses) {
  Config c = load_ok(R"(
hostname = "mx2.example.test"
[smtp]
listen = ["127.0.0.1:2525", "[::1]:2525"]
max_connections = 20000
command_timeout = "90s"
data_timeout = 60
etrn_clients = ["127.0.0.0/8", "::1"]
[queue]
dir = "var/queue"
[dns]
servers = ["127.0.0.1:5353"]
[[domain]]
name = "example.test"
primary = ["127.0.0.1:2526", "mx1.example.test"]
)");
  ASSERT_EQ(c.smtp.listen.size(), 2u);
  EXPECT_EQ(c.smtp.listen[1].host, "::1");
  EXPECT_EQ(c.smtp.listen[1].port, 2525);
  EXPECT_EQ(c.smtp.command_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.smtp.data_timeout, std::chrono::seconds(60));
  ASSERT_EQ(c.domains[0].primary.size(), 2u);
  EXPECT_EQ(c.domains[0].primary[1].port, 25);
  EXPECT_EQ(c.queue.dir, std::filesystem::path("var/queue"));
}

struct ErrorCase {
  const char* label;
  std::string text;
  std::string expected; // substring of one error message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.label; }

class ConfigLoaderErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigLoaderErrors, NamesKeyAndLine) {
  const auto errors = load_errors(GetParam().text);
  bool found = false;
  for (const auto& e : errors) {
    found = found || e.find(GetParam().expected) != std::string::npos;
  }
  EXPECT_TRUE(found) << GetParam().label << ": got " << (errors.empty() ? "" : errors.front());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigLoaderErrors,
    ::testing::Values(
        ErrorCase{"unknown key", std::string(minimal) + "[smtp]\nlissten = []\n",
                  "smtp.lissten (line 5): unknown key"},
        ErrorCase{"bad listen", std::string(minimal) + "[smtp]\nlisten = [\"::1:25\"]\n",
                  "smtp.listen (line 5)"},
        ErrorCase{"out of range", std::string(minimal) + "[smtp]\nmax_recipients = 0\n",
                  "smtp.max_recipients (line 5): must be between"},
        ErrorCase{"wrong type", std::string(minimal) + "[smtp]\nmax_errors = \"ten\"\n",
                  "smtp.max_errors (line 5): must be an integer"},
        ErrorCase{"bad duration", std::string(minimal) + "[smtp]\ncommand_timeout = \"5x\"\n",
                  "smtp.command_timeout (line 5): must be a duration"},
        ErrorCase{"no domains", "hostname = \"mx.example\"\n", "no [[domain]]"},
        ErrorCase{"duplicate domain",
                  std::string(minimal) + "[[domain]]\nname = \"example.test\"\n",
                  "configured twice"},
        ErrorCase{"tls half set", std::string(minimal) + "[smtp]\ntls_key = \"/nonexistent\"\n",
                  "must be set together"},
        ErrorCase{"syntax error", "hostname = \n", "test.toml (line 1)"},
        ErrorCase{"bad backend", std::string(minimal) + "[state]\nbackend = \"mysql\"\n",
                  "state.backend (line 5)"},
        ErrorCase{"bad cidr", std::string(minimal) + "[smtp]\netrn_clients = [\"10.0.0.0/33\"]\n",
                  "smtp.etrn_clients (line 5)"}),
    backstop::testing::LabelName());

TEST(ConfigLoader, ReportsAllErrorsAtOnce) {
  const auto errors =
      load_errors(std::string(minimal) + "[smtp]\nmax_recipients = 0\nmax_errors = 0\nbogus = 1\n");
  EXPECT_EQ(errors.size(), 3u);
}

} // namespace
} // namespace backstop::app
