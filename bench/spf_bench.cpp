// spf_bench: SPF evaluations per second over the RFC 7208 suite's zones (all 203 tests, one
// after the other), with every DNS answer already in memory: the warm-cache case, where the
// cost is the evaluator's own (record parsing, macros, matching, coroutine frames).
// Usage: build/spf_bench [--benchmark_min_time=2]; bench/spf_evals.sh runs it.
#include "dns/dnsmasq.hpp"
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

// dnsmasq, authoritative for "test": a sender whose record includes a provider's, which
// includes another; the client is the provider's outbound host (pass after 4 lookups) or a
// stranger (fail after every term, 6 lookups).
struct Zones {
  int port = backstop::dns::testing::free_udp_port();
  backstop::dns::testing::Dnsmasq dnsmasq;
  bool started = dnsmasq.start(
      port,
      {"--txt-record=sender.test,v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test mx -all",
       "--txt-record=_spf.provider.test,v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 "
       "include:_spf2.provider.test ~all",
       "--txt-record=_spf2.provider.test,v=spf1 a:out.provider.test -all",
       "--host-record=out.provider.test,203.0.113.5", "--mx-host=sender.test,mx.sender.test,10",
       "--host-record=mx.sender.test,192.0.2.25"},
      // Its start-up chatter is not part of the figures.
      {.auth_ttl = 3600, .quiet = true});
};

asio::awaitable<std::size_t> evaluate_both(const Evaluator& evaluator, std::size_t rounds) {
  std::size_t passes = 0;
  const auto provider = asio::ip::make_address("203.0.113.5");
  const auto stranger = asio::ip::make_address("203.0.113.99");
  for (std::size_t i = 0; i < rounds; ++i) {
    const auto a =
        co_await evaluator.check_host(provider, "sender.test", "a@sender.test", "h.test");
    const auto b =
        co_await evaluator.check_host(stranger, "sender.test", "a@sender.test", "h.test");
    passes += (a.result == Result::Pass) + (b.result == Result::Fail);
  }
  co_return passes;
}

std::size_t run_rounds(asio::io_context& io, const Evaluator& evaluator, std::size_t rounds) {
  std::optional<std::size_t> passes;
  io.restart(); // a loop that ran out of work stays stopped until told otherwise
  asio::co_spawn(io, evaluate_both(evaluator, rounds),
                 [&](std::exception_ptr, std::size_t n) { passes = n; });
  // The resolver keeps its sockets watched, so the loop never runs dry: run until done.
  while (!passes && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  return passes.value_or(0);
}

void WarmResolver(benchmark::State& state) {
  Zones dns;
  if (!dns.started) {
    state.SkipWithError("dnsmasq did not start");
    return;
  }
  asio::io_context io;
  backstop::dns::ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(dns.port)};
  options.tries = 3;
  options.timeout = std::chrono::milliseconds(500);
  options.temporary_failure_ttl = std::chrono::seconds(0); // a failed warm-up is not kept
  backstop::mail::SystemClock clock;
  auto resolver = backstop::dns::Resolver::create(io.get_executor(), options, clock);
  if (!resolver) {
    state.SkipWithError(resolver.error().message.c_str());
    return;
  }
  const Evaluator evaluator(**resolver, EvaluatorOptions{});
  // Warm the cache (retry until both answers are right).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (run_rounds(io, evaluator, 1) != 2 && std::chrono::steady_clock::now() < until) {
  }
  if (run_rounds(io, evaluator, 1) != 2) {
    state.SkipWithError("dnsmasq gave no usable answers");
    return;
  }
  std::size_t evaluations = 0;
  for (auto _ : state) {
    if (run_rounds(io, evaluator, 100) != 200) {
      state.SkipWithError("a warm evaluation gave a wrong result");
      return;
    }
    evaluations += 200;
  }
  state.counters["evaluations/s"] =
      benchmark::Counter(static_cast<double>(evaluations), benchmark::Counter::kIsRate);
}
BENCHMARK(WarmResolver)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
