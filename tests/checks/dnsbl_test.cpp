// dnsbl_test: the DNSBL check's pure parts (query names, code ranges, the 127/8 rule) and
// the check itself through its registered factory, with settings and a resolver that
// answer from tables: weights and threshold, DNSWL, the reject text with the zone's TXT,
// DNS trouble, lookups started together, and answers reused within a transaction.
#include "checks/dnsbl_zone.hpp"
#include "checks/fake_settings.hpp"
#include "policy/check_registry.hpp"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <spdlog/sinks/ostream_sink.h>
#include <sstream>

namespace backstop::checks {
namespace {

using namespace dnsbl;
using namespace std::chrono_literals;
using policy::Stage;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

Zone zone(const char* name, ZoneType type = ZoneType::Ip) {
  Zone z;
  z.name = name;
  z.type = type;
  return z;
}

TEST(DnsblQueryName, Ipv4ReversedOctets) {
  Subject subject;
  subject.client = ip("192.0.2.99");
  EXPECT_EQ(query_name(zone("bl.test"), subject), "99.2.0.192.bl.test");
}

TEST(DnsblQueryName, Ipv6Nibbles) {
  Subject subject;
  subject.client = ip("2001:db8::1");
  EXPECT_EQ(query_name(zone("bl.test"), subject),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
}

TEST(DnsblQueryName, MappedIpv4AsIpv4) {
  Subject subject;
  subject.client = ip("::ffff:192.0.2.99");
  EXPECT_EQ(query_name(zone("bl.test"), subject), "99.2.0.192.bl.test");
}

TEST(DnsblQueryName, RhsblOnHeloAndSender) {
  Subject subject;
  subject.helo = "Mail.Spam.Test.";
  subject.sender_domain = "spam.test";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Helo), subject), "mail.spam.test.rhs.test");
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Sender), subject), "spam.test.rhs.test");
}

TEST(DnsblQueryName, UnaskableSubjectsAreSkipped) {
  Subject subject;
  EXPECT_EQ(query_name(zone("bl.test"), subject), std::nullopt) << "no client yet";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Sender), subject), std::nullopt) << "null sender";
  subject.helo = "[192.0.2.1]";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Helo), subject), std::nullopt);
  subject.helo = "friend";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Helo), subject), std::nullopt);
  subject.helo = "bad..name.test";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Helo), subject), std::nullopt);
  subject.helo = "a space.test";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Helo), subject), std::nullopt);
  subject.sender_domain = std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                          std::string(60, 'c') + "." + std::string(60, 'd') + ".test";
  EXPECT_EQ(query_name(zone("rhs.test", ZoneType::Sender), subject), std::nullopt)
      << "over 253 bytes with the zone";
}

TEST(DnsblCodes, RangeSingleAndNetwork) {
  std::string error;
  const auto range = parse_code_range("127.0.0.2-127.0.0.11", error);
  ASSERT_TRUE(range) << error;
  EXPECT_FALSE(range->contains(ip("127.0.0.1").to_v4().to_uint()));
  EXPECT_TRUE(range->contains(ip("127.0.0.2").to_v4().to_uint()));
  EXPECT_TRUE(range->contains(ip("127.0.0.11").to_v4().to_uint()));
  EXPECT_FALSE(range->contains(ip("127.0.0.12").to_v4().to_uint()));
  const auto single = parse_code_range("127.0.0.4", error);
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->contains(ip("127.0.0.4").to_v4().to_uint()));
  EXPECT_FALSE(single->contains(ip("127.0.0.5").to_v4().to_uint()));
  const auto net = parse_code_range("127.0.1.0/24", error);
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(ip("127.0.1.255").to_v4().to_uint()));
  EXPECT_FALSE(net->contains(ip("127.0.2.0").to_v4().to_uint()));
}

TEST(DnsblCodes, BadCodesAreErrors) {
  for (const char* bad : {"10.0.0.2", "127.0.0.11-127.0.0.2", "127.0.0.2-128.0.0.1", "junk",
                          "127.0.0.0/33", "127.0.0.0/7", ""}) {
    std::string error;
    EXPECT_FALSE(parse_code_range(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(DnsblClassify, DefaultCodesAndThe127Rule) {
  const Zone bl = zone("bl.test");
  EXPECT_TRUE(classify(bl, {ip("127.0.0.2")}).listed);
  EXPECT_TRUE(classify(bl, {ip("127.1.2.3")}).listed);
  EXPECT_FALSE(classify(bl, {ip("127.0.0.1")}).listed);
  EXPECT_FALSE(classify(bl, {ip("127.255.255.254")}).listed) << "a 'query refused' code";
  const auto hijacked = classify(bl, {ip("198.51.100.7")});
  EXPECT_FALSE(hijacked.listed);
  EXPECT_EQ(hijacked.outside_loopback, (std::vector<asio::ip::address>{ip("198.51.100.7")}));
  const auto mixed = classify(bl, {ip("198.51.100.7"), ip("127.0.0.3")});
  EXPECT_TRUE(mixed.listed);
  EXPECT_EQ(mixed.matched, (std::vector<asio::ip::address>{ip("127.0.0.3")}));
  EXPECT_EQ(mixed.outside_loopback.size(), 1u);
}

TEST(DnsblClassify, ConfiguredCodesOnly) {
  Zone bl = zone("bl.test");
  std::string error;
  bl.codes = {*parse_code_range("127.0.0.2-127.0.0.3", error)};
  EXPECT_TRUE(classify(bl, {ip("127.0.0.3")}).listed);
  EXPECT_FALSE(classify(bl, {ip("127.0.0.4")}).listed);
}

TEST(DnsblText, ReplySafe) {
  EXPECT_EQ(reply_safe("Listed\r\n250 ok\x01"), "Listed  250 ok ");
  EXPECT_EQ(reply_safe(std::string(300, 'x')).size(), 200u);
}

// --- the check, through its factory ---

// Answers A and TXT questions from tables (NXDOMAIN otherwise) and notes every question.
// With open_at set, A questions wait until that many distinct names were asked.
class TableResolver final : public dns::Resolver {
public:
  explicit TableResolver(asio::any_io_executor ex)
      : gate_(ex, asio::steady_timer::time_point::max()) {}
  std::map<std::string, dns::AddressAnswer> a_answers;
  std::map<std::string, dns::TextAnswer> txt_answers;
  std::vector<std::string> asked;
  std::size_t open_at = 0;

  asio::awaitable<dns::MxAnswer> mx(std::string) override { co_return dns::MxAnswer{}; }
  asio::awaitable<dns::AddressAnswer> addresses(std::string) override {
    co_return dns::AddressAnswer{};
  }
  asio::awaitable<dns::AddressAnswer> a(std::string name) override {
    asked.push_back("A " + name);
    distinct_.insert(name);
    if (distinct_.size() >= open_at) {
      gate_.cancel();
    } else {
      co_await gate_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    auto it = a_answers.find(name);
    co_return it == a_answers.end() ? dns::AddressAnswer{dns::Status::NxDomain, {}, {}}
                                    : it->second;
  }
  asio::awaitable<dns::TextAnswer> txt(std::string name) override {
    asked.push_back("TXT " + name);
    auto it = txt_answers.find(name);
    co_return it == txt_answers.end() ? dns::TextAnswer{dns::Status::NxDomain, {}, {}} : it->second;
  }
  void listed(const std::string& name, const char* code) {
    a_answers[name] = {dns::Status::Found, {ip(code)}, {}};
  }

private:
  asio::steady_timer gate_;
  std::set<std::string> distinct_;
};

class DnsblCheckTest : public ::testing::Test {
protected:
  DnsblCheckTest() {
    services_.resolver = &resolver_;
    services_.log = std::make_shared<spdlog::logger>(
        "dnsbl-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    context_.session_id = "S1";
    context_.executor = io_.get_executor();
    context_.client.ip = "192.0.2.99";
    context_.client.address = ip("192.0.2.99");
    context_.helo = "mail.sender.test";
    context_.sender = {"someone", "sender.test"};
    context_.recipient = {"user", "example.org"};
  }

  std::unique_ptr<policy::Check> make() {
    const auto* type = policy::find_check_type("dnsbl");
    EXPECT_NE(type, nullptr) << "dnsbl registers itself";
    auto check = type->make(settings_, &services_);
    EXPECT_EQ(settings_.errors(), std::vector<std::string>{});
    return check;
  }

  // One more [[checks.dnsbl.zone]].
  backstop::test::FakeSettings& add_zone(std::string name, std::string type, double weight,
                                         std::vector<std::string> codes = {}) {
    auto& zone = settings_.add_table("zone");
    zone.set("name", std::move(name)).set("type", std::move(type)).set("weight", weight);
    if (!codes.empty()) {
      zone.set("codes", std::move(codes));
    }
    return zone;
  }

  mail::Verdict rcpt(const policy::Check& check) {
    mail::Verdict verdict;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          verdict = co_await check.check(Stage::Rcpt, context_);
          done = true;
        },
        asio::detached);
    io_.restart();
    while (!done && io_.run_one_for(5s) > 0) {
    }
    EXPECT_TRUE(done) << "the check did not finish";
    while (io_.poll() > 0) { // lookups it started detached, so that they count to this RCPT
    }
    return verdict;
  }

  // The facts a verdict carries, as the pipeline would record them for the next RCPT.
  void record(const mail::Verdict& verdict) {
    for (const auto& fact : verdict.facts) {
      context_.transaction_facts[fact.key] = fact.value;
    }
  }

  static std::string fact(const mail::Verdict& verdict, const std::string& key) {
    for (const auto& f : verdict.facts) {
      if (f.key == key) {
        return f.value;
      }
    }
    return "(none)";
  }

  asio::io_context io_;
  TableResolver resolver_{io_.get_executor()};
  std::ostringstream log_;
  policy::CheckServices services_;
  backstop::test::FakeSettings settings_{"checks.dnsbl"};
  policy::SessionContext context_;
};

TEST_F(DnsblCheckTest, ListedClientIsRefusedWithZoneAndTxt) {
  add_zone("bl.test", "ip", 1);
  auto check = make();
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->runs_at(Stage::Rcpt));
  EXPECT_FALSE(check->runs_at(Stage::Connect));
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.2");
  resolver_.txt_answers["99.2.0.192.bl.test"] = {
      dns::Status::Found, {"Listed: see https://bl.test/q?192.0.2.99"}, {}};
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Reject);
  EXPECT_EQ(verdict.reply.code, 554);
  EXPECT_EQ(verdict.reply.enhanced, "5.7.1");
  EXPECT_NE(verdict.reply.text.find("bl.test"), std::string::npos) << verdict.reply.text;
  EXPECT_NE(verdict.reply.text.find("Listed: see https://bl.test/q?192.0.2.99"), std::string::npos)
      << verdict.reply.text;
  EXPECT_NE(verdict.reply.text.find("[192.0.2.99]"), std::string::npos) << verdict.reply.text;
  EXPECT_EQ(verdict.check, "dnsbl");
  EXPECT_EQ(fact(verdict, "dnsbl.score"), "1");
  EXPECT_EQ(fact(verdict, "dnsbl.listed"), "bl.test");
}

TEST_F(DnsblCheckTest, NotListedIsAccepted) {
  add_zone("bl.test", "ip", 1);
  auto check = make();
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(verdict, "dnsbl.score"), "0");
  EXPECT_EQ(fact(verdict, "dnsbl.listed"), "");
}

TEST_F(DnsblCheckTest, WeightsAddUpToTheThreshold) {
  settings_.set("threshold", 2.0);
  add_zone("one.test", "ip", 1);
  add_zone("rhs.test", "sender", 1);
  auto check = make();
  resolver_.listed("99.2.0.192.one.test", "127.0.0.2");
  const auto below = rcpt(*check);
  EXPECT_EQ(below.decision, mail::Decision::Accept) << "1 is below 2";
  EXPECT_EQ(fact(below, "dnsbl.score"), "1");
  EXPECT_EQ(below.score, 1) << "counts towards the session score";
  resolver_.listed("sender.test.rhs.test", "127.0.0.2");
  const auto at = rcpt(*check);
  EXPECT_EQ(at.decision, mail::Decision::Reject) << "1 + 1 reaches 2";
  EXPECT_NE(at.reply.text.find("sender domain sender.test blocked using rhs.test"),
            std::string::npos)
      << at.reply.text;
  EXPECT_NE(at.reply.text.find("one.test"), std::string::npos) << at.reply.text;
  EXPECT_EQ(fact(at, "dnsbl.listed"), "one.test rhs.test");
}

TEST_F(DnsblCheckTest, AllowlistZoneLowersTheScore) {
  add_zone("bl.test", "ip", 1);
  add_zone("wl.test", "ip", -1);
  auto check = make();
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.2");
  resolver_.listed("99.2.0.192.wl.test", "127.0.0.2");
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(verdict, "dnsbl.score"), "0");
  EXPECT_EQ(fact(verdict, "dnsbl.listed"), "bl.test wl.test");
}

TEST_F(DnsblCheckTest, AllowlistZoneAloneLowersTheSessionScore) {
  add_zone("bl.test", "ip", 1);
  add_zone("wl.test", "ip", -2);
  auto check = make();
  resolver_.listed("99.2.0.192.wl.test", "127.0.0.2");
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
  EXPECT_EQ(verdict.score, -2);
  EXPECT_EQ(fact(verdict, "dnsbl.score"), "-2");
}

TEST_F(DnsblCheckTest, OnlyConfiguredCodesCount) {
  add_zone("bl.test", "ip", 1, {"127.0.0.2-127.0.0.3"});
  auto check = make();
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.4");
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Accept);
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.3");
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Reject);
}

TEST_F(DnsblCheckTest, AnswerOutside127IsIgnoredAndLogged) {
  add_zone("bl.test", "ip", 1);
  auto check = make();
  resolver_.listed("99.2.0.192.bl.test", "198.51.100.7");
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
  EXPECT_NE(log_.str().find("zone bl.test answered 198.51.100.7"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("outside 127.0.0.0/8"), std::string::npos);
}

TEST_F(DnsblCheckTest, DnsFailureNeverRefusesAndIsLogged) {
  settings_.set("threshold", 0.5);
  add_zone("bl.test", "ip", 1);
  auto check = make();
  resolver_.a_answers["99.2.0.192.bl.test"] = {dns::Status::TempFail, {}, "timeout"};
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
  EXPECT_NE(log_.str().find("zone bl.test not checked, counts 0: timeout"), std::string::npos)
      << log_.str();
}

TEST_F(DnsblCheckTest, ZonesAreAskedAtTheSameTime) {
  add_zone("one.test", "ip", 1);
  add_zone("two.test", "ip", 1);
  add_zone("rhs.test", "helo", 1);
  auto check = make();
  resolver_.open_at = 3; // no answer comes before all three questions were asked
  // As the pipeline does: each stage prefetches what it has learnt, RCPT awaits them all.
  check->prefetch(Stage::Connect, context_);
  check->prefetch(Stage::Helo, context_);
  const auto verdict = rcpt(*check);
  EXPECT_EQ(verdict.decision, mail::Decision::Accept);
}

TEST_F(DnsblCheckTest, PrefetchAsksWhenTheSubjectIsKnown) {
  add_zone("bl.test", "ip", 1);
  add_zone("helo.test", "helo", 1);
  add_zone("rhs.test", "sender", 1);
  auto check = make();
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.2");
  auto drain = [&] {
    io_.restart();
    while (io_.poll() > 0) {
    }
  };
  check->prefetch(Stage::Connect, context_);
  drain();
  EXPECT_EQ(resolver_.asked,
            (std::vector<std::string>{"A 99.2.0.192.bl.test", "TXT 99.2.0.192.bl.test"}))
      << "the client's zone at connect, and the TXT of a listed name";
  check->prefetch(Stage::Helo, context_);
  drain();
  EXPECT_EQ(resolver_.asked.back(), "A mail.sender.test.helo.test");
  check->prefetch(Stage::Mail, context_);
  drain();
  EXPECT_EQ(resolver_.asked.back(), "A sender.test.rhs.test");
}

TEST_F(DnsblCheckTest, LaterRecipientsReuseTheTransactionsAnswer) {
  settings_.set("threshold", 2.0);
  add_zone("bl.test", "ip", 1);
  auto check = make();
  resolver_.listed("99.2.0.192.bl.test", "127.0.0.2");
  const auto first = rcpt(*check);
  ASSERT_EQ(first.decision, mail::Decision::Accept);
  EXPECT_EQ(first.score, 1);
  record(first);
  const auto asked = resolver_.asked.size();
  context_.recipient = {"other", "example.org"};
  const auto second = rcpt(*check);
  EXPECT_EQ(second.decision, mail::Decision::Accept);
  EXPECT_EQ(second.score, 0) << "the transaction's score is not added twice";
  EXPECT_EQ(resolver_.asked.size(), asked) << "no DNS for the second recipient";
  context_.sender = {"new", "other.test"}; // a new transaction's sender: asked again
  rcpt(*check);
  EXPECT_GT(resolver_.asked.size(), asked);
}

TEST_F(DnsblCheckTest, BadZoneSettingsAreReported) {
  add_zone("bl.test", "ip", 1, {"10.0.0.2"});
  add_zone("", "ip", 1);
  add_zone("x.test", "nonsense", 1);
  policy::find_check_type("dnsbl")->make(settings_, &services_);
  const auto errors = settings_.errors();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("outside 127.0.0.0/8"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("needs a name"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("type"), std::string::npos) << errors[2];
}

TEST_F(DnsblCheckTest, NoZonesIsOff) { EXPECT_EQ(make(), nullptr); }

} // namespace
} // namespace backstop::checks
