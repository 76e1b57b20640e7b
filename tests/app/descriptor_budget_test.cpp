// descriptor_budget_test: the open files kept back from SMTP sessions follow the
// configuration (outgoing deliveries, callout pools, DNS servers, loops), and with the
// defaults 19,000 sessions fit an open-files limit of 20,000.
#include "app/descriptor_budget.hpp"

#include <gtest/gtest.h>

namespace backstop::app {
namespace {

Config one_domain() {
  Config c;
  c.dns.servers = {"127.0.0.1:53"};
  DomainConfig d;
  d.name = "example.test";
  d.primary = {{"192.0.2.1", 25}};
  c.domains.push_back(d);
  return c;
}

TEST(DescriptorBudget, EveryOutgoingDeliveryIsKeptBack) {
  Config c = one_domain();
  const std::size_t base = reserved_descriptors(c, 2);
  c.delivery.max_connections += 1000;
  EXPECT_EQ(reserved_descriptors(c, 2), base + 1000);
}

TEST(DescriptorBudget, CalloutPoolsAndDnsSocketsAreKeptBack) {
  Config c = one_domain();
  const std::size_t base = reserved_descriptors(c, 2);
  c.verify.max_connections_per_primary = 12; // 10 more for the one primary
  EXPECT_EQ(reserved_descriptors(c, 2), base + 10);
  c.dns.servers.push_back("127.0.0.2:53"); // a UDP and a TCP socket on each of 3 resolvers
  EXPECT_EQ(reserved_descriptors(c, 2), base + 10 + 6);
}

TEST(DescriptorBudget, CoversWhatAnIdleProcessHolds) {
  // 27 measured with 2 loops and no session (ls /proc/PID/fd), DNS and deliveries not counted.
  EXPECT_GE(fixed_descriptors + 2 * descriptors_per_loop, 27u);
}

TEST(DescriptorBudget, DefaultsLeave19000SessionsUnder20000Files) {
  Config c = one_domain();
  c.dns.servers.clear(); // the system resolver: three servers
  EXPECT_LE(19000 + reserved_descriptors(c, 8), 20000u);
}

} // namespace
} // namespace backstop::app
