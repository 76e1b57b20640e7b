// relay_domains_test: only configured domains pass; literals and lookalikes never do.
#include "policy/relay_domains.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace backstop::policy {
namespace {

struct Case {
  const char* label;
  mail::Address address;
  bool accepted;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

class RelayDomainsTest : public ::testing::TestWithParam<Case> {};

TEST_P(RelayDomainsTest, Decides) {
  RelayDomains relay({"example.test", "Other.Example."});
  const auto verdict = relay.check(GetParam().address);
  EXPECT_EQ(verdict.accepted(), GetParam().accepted) << GetParam().label;
  EXPECT_EQ(verdict.check, "relay_domains");
  if (!GetParam().accepted) {
    EXPECT_EQ(verdict.reply.code, 550);
    EXPECT_EQ(verdict.reply.enhanced, "5.7.1");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RelayDomainsTest,
    ::testing::Values(Case{"configured", {"user", "example.test"}, true},
                      Case{"second domain normalised", {"user", "other.example"}, true},
                      Case{"percent hack stays local", {"user%evil.example", "example.test"}, true},
                      Case{"other domain", {"user", "evil.example"}, false},
                      Case{"subdomain", {"user", "sub.example.test"}, false},
                      Case{"suffix lookalike", {"user", "badexample.test"}, false},
                      Case{"address literal", {"user", "[127.0.0.1]"}, false},
                      Case{"empty domain", {"user", ""}, false}),
    backstop::testing::LabelName());

} // namespace
} // namespace backstop::policy
