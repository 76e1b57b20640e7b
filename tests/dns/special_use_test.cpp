// special_use_test: which names are never mail domains, matched on whole labels.
#include "dns/special_use.hpp"

#include <gtest/gtest.h>

namespace backstop::dns {
namespace {

TEST(SpecialUse, LocalhostInvalidOnionAndNamesBelowThem) {
  EXPECT_EQ(special_use_name("localhost"), "localhost");
  EXPECT_EQ(special_use_name("LocalHost."), "localhost");
  EXPECT_EQ(special_use_name("mx.localhost"), "localhost");
  EXPECT_EQ(special_use_name("invalid"), "invalid");
  EXPECT_EQ(special_use_name("example.INVALID"), "invalid");
  EXPECT_EQ(special_use_name("hidden.onion"), "onion");
}

TEST(SpecialUse, OrdinaryAndLookAlikeNamesAreNot) {
  for (const char* name :
       {"example.test", "example.org", "mylocalhost", "localhost.example.org", "notinvalid",
        "corp.local", "local", "example", "test", "onion.example", "localhost.localdomain", ""}) {
    EXPECT_EQ(special_use_name(name), std::nullopt) << name;
  }
}

} // namespace
} // namespace backstop::dns
