// spf_bench: SPF evaluations per second over the RFC 7208 suite's zones (all 203 tests, one
// after the other), with every DNS answer already in memory: the warm-cache case, where the
// cost is the evaluator's own (record parsing, macros, matching, coroutine frames).
// Usage: build/spf_bench [--benchmark_min_time=2]; bench/spf_evals.sh runs it.
#include "spf/spf_suite.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace backstop::spf;

struct Loaded {
  std::vector<test::Scenario> scenarios;
  std::vector<std::unique_ptr<test::ZoneResolver>> resolvers;
  std::vector<std::unique_ptr<Evaluator>> evaluators;
};

Loaded& suite() {
  static Loaded loaded = [] {
    Loaded l;
    l.scenarios = test::load_suite(std::string(BACKSTOP_TEST_DATA) + "/spf/rfc7208-tests.yml");
    for (const auto& s : l.scenarios) {
      l.resolvers.push_back(std::make_unique<test::ZoneResolver>(s.zone));
      l.evaluators.push_back(std::make_unique<Evaluator>(*l.resolvers.back(), EvaluatorOptions{}));
    }
    return l;
  }();
  return loaded;
}

// Every test of the suite once, on one loop, each evaluation awaited before the next.
asio::awaitable<std::size_t> one_pass(const Loaded& l) {
  std::size_t evaluations = 0;
  for (std::size_t i = 0; i < l.scenarios.size(); ++i) {
    for (const auto& t : l.scenarios[i].tests) {
      const auto identity = mail_from_identity(t.mailfrom, t.helo);
      const auto outcome = co_await l.evaluators[i]->check_host(
          asio::ip::make_address(t.host), identity.domain, identity.sender, t.helo);
      benchmark::DoNotOptimize(outcome.result);
      ++evaluations;
    }
  }
  co_return evaluations;
}

void SuiteEvaluations(benchmark::State& state) {
  const auto& l = suite();
  asio::io_context io;
  std::size_t evaluations = 0;
  for (auto _ : state) {
    asio::co_spawn(io, one_pass(l), [&](std::exception_ptr, std::size_t n) { evaluations += n; });
    io.restart();
    io.run();
  }
  state.counters["evaluations/s"] =
      benchmark::Counter(static_cast<double>(evaluations), benchmark::Counter::kIsRate);
}
BENCHMARK(SuiteEvaluations)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
