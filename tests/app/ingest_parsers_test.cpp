// ingest_parsers_test: many shapes of Postfix and Exim log lines: contacts with their time
// and client, lines that are not contacts (deliveries, other daemons, local submissions),
// and malformed ones (truncated, no timestamp, an unreadable address).
#include "app/ingest_parsers.hpp"

#include <ctime>
#include <gtest/gtest.h>

namespace backstop::app {
namespace {

// A local time as unix seconds, as the parser reads syslog and Exim stamps.
std::int64_t local(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm));
}

const std::int64_t now = local(2026, 12, 1, 18, 30, 0);

LogLine postfix(std::string_view line) { return parse_postfix_line(line, now); }

void expect_contact(const LogLine& l, const std::string& address, std::int64_t at) {
  EXPECT_EQ(l.kind, LineKind::Contact);
  EXPECT_EQ(l.address, address);
  EXPECT_EQ(l.at, at);
}

TEST(PostfixLine, SmtpdConnectWithSyslogTimestamp) {
  const auto l = postfix("Dec  1 18:00:01 mx1 postfix/smtpd[1234]: connect from "
                         "mail.example.com[192.0.2.1]");
  expect_contact(l, "192.0.2.1", local(2026, 12, 1, 18, 0, 1));
  EXPECT_EQ(l.log_host, "mx1");
}

TEST(PostfixLine, TwoDigitDayUnknownNameAndIpv6) {
  expect_contact(postfix("Nov 30 07:05:09 mx1 postfix/smtpd[7]: connect from unknown[2001:db8::7]"),
                 "2001:db8::7", local(2026, 11, 30, 7, 5, 9));
}

TEST(PostfixLine, Rfc3339TimestampWithFractionAndOffset) {
  const auto l = postfix("2026-12-01T18:00:00.123456+01:00 mx1.example.org postfix/smtpd[99]: "
                         "connect from a.example[198.51.100.4]");
  expect_contact(l, "198.51.100.4", 1796144400);
  EXPECT_EQ(l.log_host, "mx1.example.org");
  expect_contact(postfix("2026-12-01T17:00:00Z mx1 postfix/smtpd[9]: connect from x[192.0.2.9]"),
                 "192.0.2.9", 1796144400);
}

TEST(PostfixLine, InstanceAndServiceNamesAndPostscreen) {
  EXPECT_EQ(postfix("Dec  1 18:00:00 mx1 postfix-in/smtpd[5]: connect from x[192.0.2.5]").kind,
            LineKind::Contact);
  EXPECT_EQ(
      postfix("Dec  1 18:00:00 mx1 postfix/submission/smtpd[5]: connect from x[192.0.2.5]").kind,
      LineKind::Contact);
  expect_contact(postfix("Dec  1 18:00:00 mx1 postfix/postscreen[6]: CONNECT from "
                         "[192.0.2.6]:41234 to [10.0.0.1]:25"),
                 "192.0.2.6", local(2026, 12, 1, 18, 0, 0));
}

TEST(PostfixLine, IPv4MappedAddressIsUnmapped) {
  expect_contact(postfix("Dec  1 18:00:00 mx1 postfix/smtpd[5]: connect from x[::ffff:192.0.2.8]"),
                 "192.0.2.8", local(2026, 12, 1, 18, 0, 0));
}

TEST(PostfixLine, OtherMessagesAndProgramsAreNotContacts) {
  for (const char* line : {
           "Dec  1 18:00:02 mx1 postfix/smtpd[1234]: disconnect from x[192.0.2.1] ehlo=1 quit=1",
           "Dec  1 18:00:02 mx1 postfix/smtpd[1234]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554",
           "Dec  1 18:00:02 mx1 postfix/smtp[77]: 4F2A1: to=<a@b>, relay=mx.b[203.0.113.1]:25",
           "Dec  1 18:00:02 mx1 postfix/qmgr[70]: 4F2A1: removed",
           "Dec  1 18:00:02 mx1 sshd[4]: connect from x[192.0.2.1]",
           "Dec  1 18:00:02 mx1 postfix/postscreen[6]: PASS OLD [192.0.2.6]:41234",
           "Dec  1 18:00:02 mx1 notpostfix-smtpd[5]: connect from x[192.0.2.5]",
       }) {
    EXPECT_EQ(postfix(line).kind, LineKind::Other) << line;
  }
}

TEST(PostfixLine, MalformedLines) {
  for (const char* line : {
           "Dec  1 18:00:03 mx1 postfix/smtpd[1234]: connect from mail.exa",   // truncated
           "Dec  1 18:00:03 mx1 postfix/smtpd[1234]: connect from x[192.0.2.", // truncated
           "Dec  1 18:00:03 mx1 postfix/smtpd[1234]: connect from x[unknown]",
           "Dec  1 18:0",
           "garbage without a timestamp",
           "Foo  1 18:00:03 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]",
           "Dec 41 18:00:03 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]",
           "2026-13-01T18:00:00Z mx1 postfix/smtpd[1]: connect from x[192.0.2.1]",
           "2026-12-01T18:00:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]", // no zone
           "Dec  1 18:00:03 mx1",
           "",
       }) {
    EXPECT_EQ(postfix(line).kind, LineKind::Malformed) << line;
  }
}

TEST(PostfixLine, DecemberReadInJanuaryIsLastYear) {
  const std::int64_t january = local(2027, 1, 1, 0, 10, 0);
  const auto l = parse_postfix_line(
      "Dec 31 23:59:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]", january);
  expect_contact(l, "192.0.2.1", local(2026, 12, 31, 23, 59, 0));
}

TEST(EximLine, SmtpConnectionFrom) {
  expect_contact(parse_exim_line("2026-12-01 18:00:00 SMTP connection from [192.0.2.20]:50123 "
                                 "(TCP/IP connection count = 1)"),
                 "192.0.2.20", local(2026, 12, 1, 18, 0, 0));
  expect_contact(parse_exim_line("2026-12-01 18:00:00 SMTP connection from mail.example.com "
                                 "([192.0.2.99]) [192.0.2.21]:50123 I=[10.0.0.1]:25 (TCP/IP "
                                 "connection count = 2)"),
                 "192.0.2.21", local(2026, 12, 1, 18, 0, 0));
}

TEST(EximLine, ReceivedMessageNamesTheClient) {
  expect_contact(parse_exim_line("2026-12-01 18:00:05 1FdnXi-0006bg-Jb <= tfuz@rbc.example "
                                 "H=mail.example.com (helo.example) [192.0.2.22] P=esmtp "
                                 "S=25748 id=036b01c6741a$a43423d0$aa2ded53@valeriy"),
                 "192.0.2.22", local(2026, 12, 1, 18, 0, 5));
  expect_contact(parse_exim_line("2026-12-01 18:00:05 1FdnXi-0006bg-Jb <= a@b.example "
                                 "[192.0.2.23] P=smtp S=25748"),
                 "192.0.2.23", local(2026, 12, 1, 18, 0, 5));
  expect_contact(parse_exim_line("2026-12-01 18:00:05 1qwErT-000AbC-0aBc <= a@b.example "
                                 "H=([192.0.2.1]) [2001:db8::24] P=esmtps"),
                 "2001:db8::24", local(2026, 12, 1, 18, 0, 5));
}

TEST(EximLine, RejectionsAndTimeoutsNameTheClient) {
  expect_contact(parse_exim_line("2026-12-01 18:00:06 H=(friend) [192.0.2.25] F=<a@b.example> "
                                 "rejected RCPT <x@example.org>: relay not permitted"),
                 "192.0.2.25", local(2026, 12, 1, 18, 0, 6));
  expect_contact(parse_exim_line("2026-12-01 18:00:07 no MAIL in SMTP connection from "
                                 "bot.example [192.0.2.26] D=20s C=EHLO,QUIT"),
                 "192.0.2.26", local(2026, 12, 1, 18, 0, 7));
  expect_contact(parse_exim_line("2026-12-01 18:00:08 rejected EHLO from [192.0.2.27]: "
                                 "syntactically invalid argument(s): _"),
                 "192.0.2.27", local(2026, 12, 1, 18, 0, 8));
}

TEST(EximLine, TimezonePidAndMilliseconds) {
  expect_contact(parse_exim_line("2026-12-01 18:00:00.123 +0100 [4321] SMTP connection from "
                                 "[192.0.2.28]:1 (TCP/IP connection count = 1)"),
                 "192.0.2.28", 1796144400);
}

TEST(EximLine, DeliveriesAndLocalMessagesAreNotContacts) {
  for (const char* line : {
           "2026-12-01 18:00:05 1FdnXi-0006bg-Jb => u@example.org R=dnslookup T=remote_smtp "
           "H=mx.example.org [203.0.113.5]",
           "2026-12-01 18:00:05 1FdnXi-0006bg-Jb ** u@example.org R=dnslookup T=remote_smtp: "
           "SMTP error from remote mail server after RCPT: host cohen.example [203.0.113.6]: 550",
           "2026-12-01 18:00:05 1FdnXi-0006bg-Jb == u@example.org R=dnslookup defer (-44) "
           "H=mx.example.org [203.0.113.5]",
           "2026-12-01 18:00:05 1FdnXk-0006bo-87 <= <> R=1FdnXi-0006bg-Jb U=mailnull P=local "
           "S=27199",
           "2026-12-01 18:00:05 1FdnXi-0006bg-Jb Completed",
           "2026-12-01 18:00:05 Start queue run: pid=12345",
           "2026-12-01 18:28:42 1FdnXk-0006bo-87 Message is frozen",
       }) {
    EXPECT_EQ(parse_exim_line(line).kind, LineKind::Other) << line;
  }
}

TEST(EximLine, MalformedLines) {
  for (const char* line : {
           "2026-12-01 18:00:00 SMTP connection from [192.0.2.", // truncated
           "2026-12-01 18:00:00 SMTP connection from mail.example.com",
           "2026-12-01 18:0",
           "18:00:00 SMTP connection from [192.0.2.1]",
           "2026-12-01 18:00:06 H=(friend) [not-an-address] F=<a@b>",
       }) {
    EXPECT_EQ(parse_exim_line(line).kind, LineKind::Malformed) << line;
  }
}

TEST(LogFormat, Names) {
  EXPECT_EQ(log_format_from("postfix"), LogFormat::Postfix);
  EXPECT_EQ(log_format_from("exim"), LogFormat::Exim);
  EXPECT_FALSE(log_format_from("sendmail").has_value());
}

} // namespace
} // namespace backstop::app
