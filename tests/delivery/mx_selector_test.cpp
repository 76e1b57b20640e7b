// mx_selector_test: RFC 5321 5.1 ordering, the backup-MX cut, null MX, implicit MX, and
// MX hosts without addresses.
#include "delivery/mx_selector.hpp"

#include <gtest/gtest.h>

namespace backstop::delivery {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

dns::AddressAnswer found(const char* address) { return {dns::Status::Found, {ip(address)}, ""}; }

LocalIdentity self() {
  LocalIdentity s;
  s.names = {"mx2.example.test"};
  s.addresses = {ip("192.0.2.2")};
  return s;
}

MxInput input(std::vector<dns::MxRecord> records) {
  MxInput in;
  in.domain = "example.test";
  in.mx = {dns::Status::Found, std::move(records), ""};
  for (const auto& r : in.mx.records) {
    in.exchange_addresses[r.exchange] = found("192.0.2.99");
  }
  return in;
}

std::vector<std::string> hosts(const MxSelection& s) {
  std::vector<std::string> out;
  for (const auto& t : s.targets) {
    out.push_back(t.host);
  }
  return out;
}

std::mt19937 rng(42);

TEST(MxSelector, OnlyMorePreferredThanThisHost) {
  auto in = input({{30, "mx3.example.test"},
                   {10, "mx1.example.test"},
                   {20, "mx2.example.test"},
                   {20, "peer.example.test"}});
  auto s = select_mx(in, self(), rng);
  EXPECT_EQ(hosts(s), std::vector<std::string>{"mx1.example.test"});
}

TEST(MxSelector, ThisHostRecognisedByAddress) {
  auto in = input({{10, "mx1.example.test"}, {20, "alias.example.test"}, {30, "mx3.example.test"}});
  in.exchange_addresses["alias.example.test"] = found("192.0.2.2");
  EXPECT_EQ(hosts(select_mx(in, self(), rng)), std::vector<std::string>{"mx1.example.test"});
}

TEST(MxSelector, BestMxIsThisHostMeansLoop) {
  auto s = select_mx(input({{10, "mx2.example.test"}, {20, "mx3.example.test"}}), self(), rng);
  EXPECT_TRUE(s.targets.empty());
  EXPECT_TRUE(s.mail_loop);
  EXPECT_FALSE(s.permanent);
}

TEST(MxSelector, NotListedMeansAllHostsInOrder) {
  auto s = select_mx(input({{20, "b.example.test"}, {10, "a.example.test"}}), self(), rng);
  EXPECT_EQ(hosts(s), (std::vector<std::string>{"a.example.test", "b.example.test"}));
}

TEST(MxSelector, EqualPreferencesAreShuffled) {
  std::set<std::string> first;
  for (int i = 0; i < 64; ++i) {
    auto s = select_mx(input({{10, "a.example.test"},
                              {10, "b.example.test"},
                              {10, "c.example.test"},
                              {5, "best.example.test"}}),
                       self(), rng);
    ASSERT_EQ(s.targets.size(), 4u);
    EXPECT_EQ(s.targets[0].host, "best.example.test");
    first.insert(s.targets[1].host);
  }
  EXPECT_EQ(first.size(), 3u);
}

TEST(MxSelector, NullMxIsPermanent) {
  auto s = select_mx(input({{0, ""}}), self(), rng);
  EXPECT_TRUE(s.targets.empty());
  EXPECT_TRUE(s.permanent);
  EXPECT_NE(s.error.find("null MX"), std::string::npos);
}

TEST(MxSelector, ImplicitMxOnlyWithoutMxRecords) {
  MxInput in;
  in.domain = "example.test";
  in.mx.status = dns::Status::NoData;
  in.domain_addresses = found("192.0.2.50");
  auto s = select_mx(in, self(), rng);
  ASSERT_EQ(s.targets.size(), 1u);
  EXPECT_EQ(s.targets[0].host, "example.test");
  in.domain_addresses = found("192.0.2.2");
  EXPECT_TRUE(select_mx(in, self(), rng).mail_loop);
}

TEST(MxSelector, UnresolvableMxNeverFallsBackToDomainAddress) {
  auto in = input({{10, "nowhere.example.test"}});
  in.exchange_addresses["nowhere.example.test"] = {dns::Status::NxDomain, {}, ""};
  in.domain_addresses = found("192.0.2.50");
  auto s = select_mx(in, self(), rng);
  EXPECT_TRUE(s.targets.empty());
  EXPECT_TRUE(s.permanent);
  in.exchange_addresses["nowhere.example.test"] = {dns::Status::TempFail, {}, ""};
  EXPECT_FALSE(select_mx(in, self(), rng).permanent);
}

TEST(MxSelector, DnsOutcomes) {
  MxInput in;
  in.domain = "example.test";
  in.mx.status = dns::Status::TempFail;
  EXPECT_FALSE(select_mx(in, self(), rng).permanent);
  in.mx.status = dns::Status::NxDomain;
  EXPECT_TRUE(select_mx(in, self(), rng).permanent);
}

// [peers]: the other backstops of the same domains. Listed ourselves, the cut already keeps
// equal and less preferred peers out; not listed (behind NAT, a name we do not know as ours),
// we cannot tell where we stand, so no peer is a next hop: never ping-pong between backups.
LocalIdentity self_with_peers() {
  auto s = self();
  std::vector<std::string> errors;
  s.peers = mail::PeerHosts::parse({"192.0.2.3"}, {"mx2b.example.test"}, errors);
  return s;
}

TEST(MxSelector, PeerMorePreferredThanThisHostIsANextHop) {
  auto in = input({{10, "mx1.example.test"},
                   {15, "mx2b.example.test"},
                   {20, "mx2.example.test"},
                   {30, "mx3.example.test"}});
  in.exchange_addresses["mx3.example.test"] = found("192.0.2.3");
  auto s = select_mx(in, self_with_peers(), rng);
  EXPECT_EQ(hosts(s), (std::vector<std::string>{"mx1.example.test", "mx2b.example.test"}));
}

TEST(MxSelector, NotListedOurselvesPeersAreNeverNextHops) {
  auto in = input({{10, "mx1.example.test"},
                   {20, "mx2b.example.test"},
                   {30, "mx3.example.test"},
                   {40, "other.example.test"}});
  in.exchange_addresses["mx3.example.test"] = found("192.0.2.3"); // a peer by address
  auto s = select_mx(in, self_with_peers(), rng);
  EXPECT_EQ(hosts(s), (std::vector<std::string>{"mx1.example.test", "other.example.test"}));
  // Without [peers] every host is one (the old rule): the peers would get the mail.
  EXPECT_EQ(select_mx(in, self(), rng).targets.size(), 4u);
}

TEST(MxSelector, OnlyPeersLeftIsALoopNotABounce) {
  auto in = input({{20, "mx2b.example.test"}, {30, "mx3.example.test"}});
  in.exchange_addresses["mx3.example.test"] = found("192.0.2.3");
  auto s = select_mx(in, self_with_peers(), rng);
  EXPECT_TRUE(s.targets.empty());
  EXPECT_TRUE(s.mail_loop);
  EXPECT_FALSE(s.permanent);
  EXPECT_NE(s.error.find("peer backstop"), std::string::npos) << s.error;
}

} // namespace
} // namespace backstop::delivery
