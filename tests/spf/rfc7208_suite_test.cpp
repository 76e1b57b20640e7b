// rfc7208_suite_test: the openspf RFC 7208 test suite (tests/data/spf/rfc7208-tests.yml, 203
// tests in 16 scenarios) run as it states itself, with each scenario's zone data served by a
// fake dns::Resolver; everything above the DNS layer is production code. Prints passes per
// scenario and names each failing test with its spec section.
#include "spf_suite.hpp"

#include <gtest/gtest.h>
#include <iostream>

namespace backstop::spf::test {
namespace {

struct Tally {
  std::size_t passed = 0;
  std::size_t total = 0;
};

Tally run_file(const std::string& file) {
  Tally all;
  for (const auto& scenario : load_suite(std::string(BACKSTOP_TEST_DATA) + "/spf/" + file)) {
    ZoneResolver resolver(scenario.zone);
    EvaluatorOptions options;
    options.default_explanation = "DEFAULT"; // as the reference driver sets it
    options.receiver = "receiver.test";
    const Evaluator evaluator(resolver, options);
    Tally tally;
    for (const auto& t : scenario.tests) {
      const auto outcome = run_suite_test(evaluator, t);
      ++tally.total;
      if (suite_passes(t, outcome)) {
        ++tally.passed;
        continue;
      }
      std::string wanted;
      for (const auto& r : t.results) {
        wanted += (wanted.empty() ? "" : "|") + r;
      }
      ADD_FAILURE() << file << " " << t.name << " (spec " << t.spec << "): got "
                    << result_name(outcome.result) << " \"" << outcome.explanation << "\", wanted "
                    << wanted << (t.explanation ? " \"" + *t.explanation + "\"" : "") << "; "
                    << outcome.reason;
    }
    std::cout << "  " << scenario.description << ": " << tally.passed << "/" << tally.total << "\n";
    all.passed += tally.passed;
    all.total += tally.total;
  }
  std::cout << file << ": " << all.passed << "/" << all.total << " pass\n";
  return all;
}

TEST(Rfc7208Suite, EveryScenarioPasses) {
  const auto tally = run_file("rfc7208-tests.yml");
  EXPECT_EQ(tally.total, 203u) << "the suite file is incomplete";
  EXPECT_EQ(tally.passed, tally.total);
}

// The older RFC 4408 suite (optional; tests/data/spf/README.md).
TEST(Rfc4408Suite, EveryScenarioPasses) {
  const auto tally = run_file("rfc4408-tests.yml");
  EXPECT_EQ(tally.total, 191u) << "the suite file is incomplete";
  EXPECT_EQ(tally.passed, tally.total);
}

} // namespace
} // namespace backstop::spf::test
