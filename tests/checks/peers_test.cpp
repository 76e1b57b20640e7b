// peers_test: the peers check permits a [peers] client for the whole session at connect (by
// address or by name), accepts everyone else, runs first, and is absent without peers.
#include "checks/fake_settings.hpp"
#include "policy/check_registry.hpp"
#include "spf/zone_resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::checks {
namespace {

using policy::Stage;
using spf::test::ZoneEntry;
using spf::test::ZoneResolver;

ZoneResolver::Zone zone() { return {{"mx3.peer.test", {{ZoneEntry::A, "192.0.2.77", 0}}}}; }

class PeersCheckTest : public ::testing::Test {
protected:
  PeersCheckTest() : resolver_(zone()) {
    services_.resolver = &resolver_;
    services_.hostname = "backstop.test";
    std::vector<std::string> errors;
    services_.peers =
        mail::PeerHosts::parse({"192.0.2.66", "198.51.100.0/24"}, {"mx3.peer.test"}, errors);
    context_.executor = io_.get_executor();
  }

  mail::Verdict connect(const policy::Check& check, const std::string& ip) {
    context_.client.ip = ip;
    context_.client.address = asio::ip::make_address(ip);
    std::optional<mail::Verdict> out;
    asio::co_spawn(io_, check.check(Stage::Connect, context_),
                   [&](std::exception_ptr e, mail::Verdict v) {
                     if (!e) {
                       out = std::move(v);
                     }
                   });
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(mail::Verdict{});
  }

  std::unique_ptr<policy::Check> make() {
    return policy::find_check_type("peers")->make(settings_, &services_);
  }

  asio::io_context io_;
  ZoneResolver resolver_;
  policy::CheckServices services_;
  test::FakeSettings settings_{"checks.peers"};
  policy::SessionContext context_;
};

TEST_F(PeersCheckTest, RunsFirstAtConnectOnly) {
  const auto* type = policy::find_check_type("peers");
  ASSERT_NE(type, nullptr);
  EXPECT_LT(type->order, policy::find_check_type("mx_contacts")->order);
  EXPECT_LT(type->order, policy::find_check_type("allowlist")->order);
  const auto check = make();
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->runs_at(Stage::Connect));
  EXPECT_FALSE(check->runs_at(Stage::Rcpt));
}

TEST_F(PeersCheckTest, APeerIsPermittedForTheSessionByAddressNetworkOrName) {
  const auto check = make();
  for (const char* peer : {"192.0.2.66", "198.51.100.9", "192.0.2.77"}) {
    const auto v = connect(*check, peer);
    EXPECT_EQ(v.decision, mail::Decision::Permit) << peer;
    EXPECT_NE(v.reason.find("peer backstop"), std::string::npos) << v.reason;
  }
  EXPECT_NE(connect(*check, "192.0.2.77").reason.find("mx3.peer.test"), std::string::npos);
  EXPECT_EQ(connect(*check, "192.0.2.78").decision, mail::Decision::Accept);
}

TEST_F(PeersCheckTest, AbsentWithoutPeersOrWhenOnlyValidating) {
  EXPECT_EQ(policy::find_check_type("peers")->make(settings_, nullptr), nullptr);
  services_.peers = {};
  EXPECT_EQ(make(), nullptr);
}

} // namespace
} // namespace backstop::checks
