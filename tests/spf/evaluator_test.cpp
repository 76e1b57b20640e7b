// evaluator_test: what the suite does not state: the overall deadline (temperror, RFC 7208
// 4.6.4), the reasons given with each result, and that the lookups of one evaluation stay
// bounded by the limits whatever the records say.
#include "spf/evaluator.hpp"
#include "spf/spf_suite.hpp"

#include <gtest/gtest.h>

namespace backstop::spf {
namespace {

using test::ZoneEntry;
using test::ZoneResolver;

Outcome run(const Evaluator& evaluator, const std::string& ip, const std::string& sender) {
  test::SuiteTest t;
  t.host = ip;
  t.mailfrom = sender;
  t.helo = "client.test";
  return test::run_suite_test(evaluator, t);
}

TEST(SpfEvaluator, PastTheDeadlineIsATemperror) {
  ZoneResolver resolver({{"a.test", {{ZoneEntry::Txt, "v=spf1 a -all", 0}}}});
  EvaluatorOptions options;
  options.deadline = std::chrono::milliseconds(-1);
  const Evaluator evaluator(resolver, options);
  const auto outcome = run(evaluator, "192.0.2.1", "x@a.test");
  EXPECT_EQ(outcome.result, Result::TempError);
  EXPECT_NE(outcome.reason.find("took too long"), std::string::npos) << outcome.reason;
  EXPECT_EQ(resolver.queries(), 0u);
}

TEST(SpfEvaluator, ResultsSayWhy) {
  ZoneResolver resolver({
      {"a.test", {{ZoneEntry::Txt, "v=spf1 ip6:2001:db8:1::/48 include:b.test -all", 0}}},
      {"b.test", {{ZoneEntry::Txt, "v=spf1 ip4:192.0.2.0/24 -all", 0}}},
  });
  const Evaluator evaluator(resolver, EvaluatorOptions{});
  const auto six = run(evaluator, "2001:db8:1::25", "x@a.test");
  EXPECT_EQ(six.result, Result::Pass);
  EXPECT_EQ(six.mechanism, "ip6:2001:db8:1::/48");
  const auto four = run(evaluator, "192.0.2.7", "x@a.test");
  EXPECT_EQ(four.result, Result::Pass);
  EXPECT_EQ(four.mechanism, "include:b.test");
  const auto other = run(evaluator, "198.51.100.1", "x@a.test");
  EXPECT_EQ(other.result, Result::Fail);
  EXPECT_EQ(other.explanation, "198.51.100.1 is not one of a.test's designated mail servers");
  const auto none = run(evaluator, "192.0.2.7", "x@c.test");
  EXPECT_EQ(none.result, Result::None);
  EXPECT_EQ(none.reason, "c.test has no SPF record");
}

TEST(SpfEvaluator, LookupsStayBoundedByTheLimits) {
  // Each of 11 mx terms would name 10 hosts: the 11th term is refused before it asks.
  ZoneResolver::Zone zone;
  std::string record = "v=spf1";
  for (int i = 0; i < 11; ++i) {
    record += " mx:m" + std::to_string(i) + ".test";
    auto& mx = zone["m" + std::to_string(i) + ".test"];
    for (unsigned j = 0; j < 10; ++j) {
      mx.push_back({ZoneEntry::Mx, "h" + std::to_string(j) + ".test", j});
    }
  }
  for (int j = 0; j < 10; ++j) {
    zone["h" + std::to_string(j) + ".test"] = {{ZoneEntry::A, "192.0.2.200", 0}};
  }
  zone["a.test"] = {{ZoneEntry::Txt, record + " -all", 0}};
  ZoneResolver resolver(zone);
  const Evaluator evaluator(resolver, EvaluatorOptions{});
  const auto outcome = run(evaluator, "192.0.2.1", "x@a.test");
  EXPECT_EQ(outcome.result, Result::PermError);
  EXPECT_LE(resolver.queries(), 1u + 10u * 11u) << "TXT + 10 terms of (MX + 10 A)";
}

} // namespace
} // namespace backstop::spf
