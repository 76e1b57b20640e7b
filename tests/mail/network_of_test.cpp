// network_of_test: the client network as text, the key of per-network limits.
#include "mail/cidr.hpp"

#include <gtest/gtest.h>

namespace backstop::mail {
namespace {

TEST(NetworkOfTest, MasksToThePrefix) {
  EXPECT_EQ(network_of("198.51.100.77", 24, 64), "198.51.100.0/24");
  EXPECT_EQ(network_of("198.51.100.77", 20, 64), "198.51.96.0/20");
  EXPECT_EQ(network_of("198.51.100.77", 32, 64), "198.51.100.77/32");
  EXPECT_EQ(network_of("2001:db8:1:2:3:4:5:6", 24, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(network_of("2001:db8:1:2:3:4:5:6", 24, 52), "2001:db8:1::/52");
  EXPECT_EQ(network_of("2001:db8:1:2:3:4:5:6", 24, 128), "2001:db8:1:2:3:4:5:6/128");
}

TEST(NetworkOfTest, MappedAddressIsItsIpv4Network) {
  EXPECT_EQ(network_of("::ffff:198.51.100.77", 24, 64), "198.51.100.0/24");
}

TEST(NetworkOfTest, NotAnAddressHasNoNetwork) { EXPECT_EQ(network_of("unix", 24, 64), ""); }

} // namespace
} // namespace backstop::mail
