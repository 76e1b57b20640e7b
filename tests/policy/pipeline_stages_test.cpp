// pipeline_stages_test: how the pipeline runs checks: order, permits (allowlists win over
// filters but not over required checks), warn mode, per-domain modes of refusals held from
// before RCPT, facts and scores recorded for later checks, and the reject_score.
#include "policy/pipeline.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::policy {
namespace {

// A check that answers a fixed verdict at one stage and remembers what it saw.
class Scripted final : public Check {
public:
  Scripted(std::string name, Stage stage, mail::Verdict verdict)
      : name_(std::move(name)), stage_(stage), verdict_(std::move(verdict)) {}
  std::string_view name() const override { return name_; }
  bool runs_at(Stage stage) const override { return stage == stage_; }
  asio::awaitable<mail::Verdict> check(Stage, const SessionContext& context) const override {
    ++calls;
    seen_score = context.score();
    seen_fact = std::string(context.fact("probe.fact"));
    co_return verdict_;
  }
  mutable int calls = 0;
  mutable double seen_score = 0;
  mutable std::string seen_fact;

private:
  std::string name_;
  Stage stage_;
  mail::Verdict verdict_;
};

mail::Verdict refuse(const std::string& check, int code = 550) {
  return mail::Verdict::decide(code >= 500 ? mail::Decision::Reject : mail::Decision::Defer,
                               {code, code >= 500 ? "5.7.1" : "4.7.1", check + " says no"}, check,
                               "because");
}

mail::Verdict run(const Pipeline& pipeline, Stage stage, SessionContext& context) {
  asio::io_context io;
  mail::Verdict out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await pipeline.decide(stage, context); },
      asio::detached);
  io.run();
  return out;
}

struct Built {
  std::vector<std::shared_ptr<Scripted>> checks;
  std::shared_ptr<Pipeline> pipeline;
};

CheckEntry entry(std::shared_ptr<Scripted> check, bool required = false,
                 CheckMode mode = CheckMode::Enforce) {
  return CheckEntry{std::move(check), 0, required, mode, {}};
}

TEST(PipelineStages, FirstRefusalInOrderWinsAndLaterChecksAreNotAsked) {
  auto first = std::make_shared<Scripted>("first", Stage::Rcpt, refuse("first"));
  auto second = std::make_shared<Scripted>("second", Stage::Rcpt, refuse("second"));
  PipelineParts parts;
  parts.checks = {entry(first), entry(second)};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  const auto v = run(pipeline, Stage::Rcpt, context);
  EXPECT_EQ(v.check, "first");
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(second->calls, 0);
  ASSERT_EQ(context.verdicts.size(), 1u);
  EXPECT_EQ(context.verdicts[0].check, "first");
}

TEST(PipelineStages, ChecksRunOnlyAtTheirStage) {
  auto helo = std::make_shared<Scripted>("helo", Stage::Helo, refuse("helo"));
  PipelineParts parts;
  parts.checks = {entry(helo)};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  EXPECT_TRUE(run(pipeline, Stage::Rcpt, context).accepted());
  EXPECT_EQ(helo->calls, 0);
  EXPECT_FALSE(run(pipeline, Stage::Helo, context).accepted());
}

TEST(PipelineStages, ConnectPermitSkipsFiltersForTheSessionButNotRequiredChecks) {
  auto allow = std::make_shared<Scripted>("allowlist", Stage::Connect,
                                          mail::Verdict::permit("allowlist", "listed"));
  auto filter = std::make_shared<Scripted>("dnsbl", Stage::Rcpt, refuse("dnsbl"));
  auto required = std::make_shared<Scripted>("relay", Stage::Rcpt, refuse("relay"));
  PipelineParts parts;
  parts.checks = {entry(allow), entry(filter), entry(required, true)};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  EXPECT_TRUE(run(pipeline, Stage::Connect, context).accepted());
  EXPECT_TRUE(context.session_permitted);
  const auto v = run(pipeline, Stage::Rcpt, context);
  EXPECT_EQ(v.check, "relay") << "an allowlist never makes backstop a relay";
  EXPECT_EQ(filter->calls, 0);
}

TEST(PipelineStages, RecipientPermitSkipsTheRestOfThatRcptOnly) {
  auto allow = std::make_shared<Scripted>("allowlist", Stage::Rcpt,
                                          mail::Verdict::permit("allowlist", "postmaster"));
  auto filter = std::make_shared<Scripted>("dnsbl", Stage::Rcpt, refuse("dnsbl"));
  PipelineParts parts;
  parts.checks = {entry(allow), entry(filter)};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  EXPECT_TRUE(run(pipeline, Stage::Rcpt, context).accepted());
  EXPECT_EQ(filter->calls, 0);
  EXPECT_FALSE(context.session_permitted);
  EXPECT_FALSE(context.transaction_permitted);
}

TEST(PipelineStages, WarnModeRecordsWhatItWouldHaveDoneAndAccepts) {
  auto filter = std::make_shared<Scripted>("helo", Stage::Helo, refuse("helo"));
  metrics::Counters counters;
  PipelineParts parts;
  parts.checks = {entry(filter, false, CheckMode::Warn)};
  parts.counters = &counters;
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  EXPECT_TRUE(run(pipeline, Stage::Helo, context).accepted());
  ASSERT_EQ(context.verdicts.size(), 1u);
  EXPECT_TRUE(context.verdicts[0].warned);
  EXPECT_EQ(counters.refusals()["HELO warn helo"], 1u);
}

TEST(PipelineStages, RefusalBeforeRcptWithDomainModesIsAppliedPerRecipientDomain) {
  auto filter = std::make_shared<Scripted>("dnsbl", Stage::Connect, refuse("dnsbl", 554));
  PipelineParts parts;
  auto e = entry(filter);
  e.domain_modes["lenient.example"] = CheckMode::Warn;
  parts.checks = {e};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  EXPECT_TRUE(run(pipeline, Stage::Connect, context).accepted()) << "held until RCPT";
  context.recipient = {"u", "lenient.example"};
  EXPECT_TRUE(run(pipeline, Stage::Rcpt, context).accepted());
  context.recipient = {"u", "strict.example"};
  const auto v = run(pipeline, Stage::Rcpt, context);
  EXPECT_EQ(v.reply.code, 554);
  EXPECT_EQ(v.check, "dnsbl");
}

TEST(PipelineStages, FactsAndScoresOfEarlierChecksReachLaterOnesAndTransactionsForgetThem) {
  auto learn = mail::Verdict::scored("spf", 2.5, "softfail");
  learn.facts.push_back({"probe.fact", "seen"});
  learn.headers.push_back("Received-SPF: softfail");
  auto spf = std::make_shared<Scripted>("spf", Stage::Mail, learn);
  auto later = std::make_shared<Scripted>("later", Stage::Rcpt, mail::Verdict::accept("later"));
  PipelineParts parts;
  parts.checks = {entry(spf), entry(later)};
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  run(pipeline, Stage::Mail, context);
  run(pipeline, Stage::Rcpt, context);
  EXPECT_EQ(later->seen_fact, "seen");
  EXPECT_DOUBLE_EQ(later->seen_score, 2.5);
  ASSERT_EQ(context.headers.size(), 1u);
  context.reset_transaction();
  EXPECT_EQ(context.fact("probe.fact"), "");
  EXPECT_DOUBLE_EQ(context.score(), 0);
  EXPECT_TRUE(context.headers.empty());
}

TEST(PipelineStages, ScoreReachingRejectScoreRefusesAtRcpt) {
  auto a = std::make_shared<Scripted>("a", Stage::Connect, mail::Verdict::scored("a", 3, "x"));
  auto b = std::make_shared<Scripted>("b", Stage::Rcpt, mail::Verdict::scored("b", 2, "y"));
  PipelineParts parts;
  parts.checks = {entry(a), entry(b)};
  parts.reject_score = 5;
  const Pipeline pipeline(std::move(parts));
  SessionContext context;
  run(pipeline, Stage::Connect, context);
  const auto v = run(pipeline, Stage::Rcpt, context);
  EXPECT_EQ(v.check, "score");
  EXPECT_EQ(v.reply.code, 550);
}

} // namespace
} // namespace backstop::policy
