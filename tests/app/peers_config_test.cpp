// peers_config_test: [peers] read into addresses and names, its errors naming their keys, and
// where a peer goes from there: the offender allowlist and delivery's local identity.
#include "app/config_loader.hpp"
#include "app/local_identity.hpp"
#include "app/offenders.hpp"
#include "app/peers_config.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

const std::string minimal =
    "hostname = \"mx2.example.test\"\n[[domain]]\nname = \"example.test\"\n";

std::variant<Config, ConfigErrors> parse(const std::string& extra) {
  return parse_config(minimal + extra, "test.toml");
}

Config load_ok(const std::string& extra) {
  auto result = parse(extra);
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << "unexpected errors: " << errors->messages.front();
    return {};
  }
  return std::get<Config>(result);
}

std::string first_error(const std::string& extra) {
  auto result = parse(extra);
  auto* errors = std::get_if<ConfigErrors>(&result);
  return errors == nullptr ? "" : errors->messages.front();
}

TEST(PeersConfig, NoneByDefault) {
  const Config c = load_ok("");
  EXPECT_TRUE(c.peers.addresses.empty());
  EXPECT_TRUE(c.peers.names.empty());
  EXPECT_TRUE(peer_hosts(c).empty());
}

TEST(PeersConfig, ReadsAddressesNetworksAndNames) {
  const Config c = load_ok("[peers]\naddresses = [\"192.0.2.3\", \"2001:db8::/32\"]\n"
                           "names = [\"MX3.Example.NET.\"]\n");
  EXPECT_EQ(c.peers.addresses, (std::vector<std::string>{"192.0.2.3", "2001:db8::/32"}));
  const auto peers = peer_hosts(c);
  EXPECT_TRUE(peers.has_address("192.0.2.3"));
  EXPECT_FALSE(peers.has_address("192.0.2.4"));
  EXPECT_TRUE(peers.has_address(asio::ip::make_address("2001:db8::25")));
  EXPECT_TRUE(peers.has_address(asio::ip::make_address("::ffff:192.0.2.3"))) << "mapped";
  EXPECT_TRUE(peers.has_name("mx3.example.net"));
  EXPECT_TRUE(peers.has_name("MX3.EXAMPLE.NET."));
  EXPECT_FALSE(peers.has_name("mx4.example.net"));
}

TEST(PeersConfig, ErrorsNameTheirKeys) {
  EXPECT_NE(first_error("[peers]\naddresses = [\"mx3.example.net\"]\n").find("peers.addresses"),
            std::string::npos);
  EXPECT_NE(first_error("[peers]\nnames = [\"localhost\"]\n").find("peers.names"),
            std::string::npos);
  EXPECT_NE(first_error("[peers]\nhosts = [\"192.0.2.3\"]\n").find("peers.hosts"),
            std::string::npos);
}

TEST(PeersConfig, APeerIsNeverAnOffender) {
  const Config c = load_ok("[peers]\naddresses = [\"192.0.2.3\"]\n");
  EXPECT_EQ(offender_allowlist(c).match("192.0.2.3", ""), "network 192.0.2.3");
  EXPECT_EQ(offender_allowlist(c).match("192.0.2.4", ""), "");
}

TEST(PeersConfig, DeliveryKnowsThePeers) {
  const Config c = load_ok("[peers]\naddresses = [\"192.0.2.3\"]\nnames = [\"mx3.example.net\"]\n");
  const auto self = local_identity(c);
  const std::vector<asio::ip::address> none;
  EXPECT_TRUE(self.is_peer("mx3.example.net", none));
  EXPECT_TRUE(self.is_peer("other.example.net", {asio::ip::make_address("192.0.2.3")}));
  EXPECT_FALSE(self.is_peer("other.example.net", {asio::ip::make_address("192.0.2.5")}));
  EXPECT_FALSE(self.is_local(asio::ip::make_address("192.0.2.3"))) << "a peer is not us";
}

} // namespace
} // namespace backstop::app
