// local_identity_test: listen addresses are this host; a wildcard listener is every address of
// the host; a primary may share our address on another port but never be our listener; and
// the MX cut follows from it.
#include "app/local_identity.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

Config config_listening(std::vector<Endpoint> listen) {
  Config c;
  c.hostname = "mx2.example.test";
  c.local_names = {"Backup.Example.TEST"};
  c.local_addresses = {"192.0.2.25"};
  c.smtp.listen = std::move(listen);
  return c;
}

TEST(LocalIdentity, NamesAndConfiguredAndListenAddresses) {
  const auto self = local_identity(config_listening({{"127.0.0.1", 2525}, {"::1", 2525}}));
  EXPECT_TRUE(self.is_local("backup.example.test", {}));
  EXPECT_TRUE(self.is_local(ip("192.0.2.25")));
  EXPECT_TRUE(self.is_local(ip("127.0.0.1")));
  EXPECT_TRUE(self.is_local(ip("::1")));
  EXPECT_TRUE(self.is_local(ip("::ffff:127.0.0.1"))); // v4-mapped is the same host
  EXPECT_FALSE(self.is_local(ip("127.0.0.2")));       // not a wildcard: only what we bound
  EXPECT_FALSE(self.is_local("mx1.example.test", {ip("192.0.2.26")}));
}

TEST(LocalIdentity, WildcardListenerIsEveryAddressOfTheHost) {
  const auto self = local_identity(config_listening({{"0.0.0.0", 25}}));
  EXPECT_TRUE(self.is_local(ip("127.0.0.9")));
  EXPECT_TRUE(self.is_local(ip("::1")));
  EXPECT_FALSE(self.is_local(ip("192.0.2.99")));
}

TEST(LocalIdentity, ListenerEndpointsIncludePort) {
  const auto self = local_identity(config_listening({{"127.0.0.1", 2525}, {"0.0.0.0", 25}}));
  EXPECT_TRUE(self.is_listener({ip("127.0.0.1"), 2525}));
  EXPECT_FALSE(self.is_listener({ip("127.0.0.1"), 2526})); // a primary beside us: fine
  EXPECT_TRUE(self.is_listener({ip("127.0.0.7"), 25}));    // the wildcard answers there
  EXPECT_FALSE(self.is_listener({ip("192.0.2.99"), 25}));
}

TEST(LocalIdentity, MxUnderAnotherNameAtOurListenAddressEndsTheList) {
  const auto self = local_identity(config_listening({{"127.0.0.1", 25}}));
  delivery::MxInput in;
  in.domain = "loopy.test";
  in.mx = {dns::Status::Found, {{10, "mx1.elsewhere.test"}, {20, "mx2.example.test"}}, ""};
  in.exchange_addresses["mx1.elsewhere.test"] = {dns::Status::Found, {ip("127.0.0.1")}, ""};
  in.exchange_addresses["mx2.example.test"] = {dns::Status::Found, {ip("127.0.0.1")}, ""};
  std::mt19937 rng(1);
  const auto s = delivery::select_mx(in, self, rng);
  EXPECT_TRUE(s.targets.empty());
  EXPECT_TRUE(s.mail_loop);
  EXPECT_FALSE(s.permanent);
}

} // namespace
} // namespace backstop::app
