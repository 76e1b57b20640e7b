// header_test: the Received-SPF header (RFC 7208 9.1): result, comment, key-value pairs, and
// that nothing a client sends (CR, LF, parentheses, quotes, length) can break the line.
#include "spf/header.hpp"

#include <gtest/gtest.h>

namespace backstop::spf {
namespace {

HeaderFacts facts() {
  HeaderFacts f;
  f.identity = Identity::MailFrom;
  f.client_ip = "192.0.2.1";
  f.envelope_from = "myname@example.com";
  f.sender = "myname@example.com";
  f.helo = "foo.example.com";
  f.receiver = "mybox.example.org";
  return f;
}

TEST(ReceivedSpf, PassAsInTheRfcExample) {
  const Outcome pass{Result::Pass, {}, "matched ip4:192.0.2.0/24", "ip4:192.0.2.0/24"};
  EXPECT_EQ(received_spf(pass, facts()),
            "Received-SPF: pass (mybox.example.org: domain of myname@example.com designates "
            "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
            "envelope-from=\"myname@example.com\"; helo=foo.example.com; "
            "receiver=mybox.example.org; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"");
}

TEST(ReceivedSpf, ErrorsCarryTheProblem) {
  const Outcome error{Result::PermError, {}, "syntax error in \"moo\"", {}};
  const auto header = received_spf(error, facts());
  EXPECT_NE(header.find("Received-SPF: permerror (mybox.example.org: permanent error"),
            std::string::npos);
  EXPECT_NE(header.find("problem=\"syntax error in \\\"moo\\\"\""), std::string::npos) << header;
}

TEST(ReceivedSpf, ClientTextCannotEndTheLineOrTheComment) {
  auto f = facts();
  f.helo = "evil\r\nX-Injected: yes";
  f.sender = "a)b(c\\@example.com";
  f.envelope_from = std::string(2000, '"');
  const Outcome fail{Result::Fail, {}, {}, "-all"};
  const auto header = received_spf(fail, f);
  EXPECT_EQ(header.find('\r'), std::string::npos);
  EXPECT_EQ(header.find('\n'), std::string::npos);
  EXPECT_NE(header.find("a\\)b\\(c\\\\@example.com"), std::string::npos) << header;
  EXPECT_LT(header.size(), 998u);
}

TEST(ReceivedSpf, HeloIdentityAndCustomComment) {
  auto f = facts();
  f.identity = Identity::Helo;
  f.envelope_from = "";
  f.comment = "mybox.example.org: 192.0.2.1 is a trusted hop";
  const Outcome none{Result::None, {}, {}, {}};
  const auto header = received_spf(none, f);
  EXPECT_EQ(header.rfind("Received-SPF: none (mybox.example.org: 192.0.2.1 is a trusted hop)", 0),
            0u)
      << header;
  EXPECT_NE(header.find("envelope-from=\"\"; "), std::string::npos);
  EXPECT_NE(header.find("identity=helo"), std::string::npos);
}

} // namespace
} // namespace backstop::spf
