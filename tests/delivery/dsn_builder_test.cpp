// dsn_builder_test: the notices backstop sends, parsed back as what a receiving MUA or MTA
// sees: a MIME multipart/report (RFC 6522) whose second part is message/delivery-status
// (RFC 3464) and whose third returns the message (whole, or its headers for RET=HDRS).
#include "delivery/dsn_builder.hpp"
#include "smtp/received_header.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backstop::delivery {
namespace {

constexpr std::int64_t arrival = 1795392000; // 2026-11-23 00:00:00 UTC
constexpr std::int64_t now = arrival + 5 * 86400;

// ---- a small MIME reader, strict where the RFCs are -----------------------------------

using Fields = std::vector<std::pair<std::string, std::string>>; // in order, unfolded

std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// Header fields of a block of CRLF lines; a line starting with SP/HTAB continues the last.
Fields parse_fields(const std::string& block) {
  Fields out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    auto end = block.find("\r\n", pos);
    if (end == std::string::npos) {
      end = block.size();
    }
    const std::string line = block.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty()) {
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().second += line; // unfolding removes only the CRLF (RFC 5322 2.2.3)
      continue;
    }
    const auto colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << "not a field: " << line;
    if (colon == std::string::npos) {
      continue;
    }
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.emplace_back(lower(line.substr(0, colon)), value);
  }
  return out;
}

std::optional<std::string> field(const Fields& fields, const std::string& name) {
  for (const auto& [n, v] : fields) {
    if (n == lower(name)) {
      return v;
    }
  }
  return std::nullopt;
}

std::size_t count(const Fields& fields, const std::string& name) {
  std::size_t n = 0;
  for (const auto& f : fields) {
    n += f.first == lower(name) ? 1 : 0;
  }
  return n;
}

struct Entity {
  Fields headers;
  std::string body;
};

Entity split_entity(const std::string& text) {
  const auto blank = text.find("\r\n\r\n");
  if (blank == std::string::npos) {
    return {parse_fields(text), ""};
  }
  return {parse_fields(text.substr(0, blank + 2)), text.substr(blank + 4)};
}

std::string boundary_of(const Fields& headers) {
  const auto type = field(headers, "Content-Type").value_or("");
  const auto at = type.find("boundary=\"");
  if (at == std::string::npos) {
    return {};
  }
  const auto start = at + 10;
  return type.substr(start, type.find('"', start) - start);
}

// RFC 2046 5.1.1: parts sit between CRLF "--" boundary lines; the last ends "--" boundary "--".
struct Report {
  Fields headers;
  std::vector<Entity> parts;
  bool closed = false;
  std::string raw;
};

Report parse_report(const std::string& message) {
  Report r;
  r.raw = message;
  auto top = split_entity(message);
  r.headers = top.headers;
  const std::string boundary = boundary_of(top.headers);
  EXPECT_FALSE(boundary.empty());
  EXPECT_LE(boundary.size(), 70u);            // RFC 2046 5.1.1
  const std::string body = "\r\n" + top.body; // so the first delimiter has its CRLF too
  const std::string delimiter = "\r\n--" + boundary;
  auto at = body.find(delimiter);
  while (at != std::string::npos) {
    auto line_end = body.find("\r\n", at + delimiter.size());
    const std::string after = body.substr(at + delimiter.size(), 2);
    if (after == "--") {
      r.closed = true;
      EXPECT_EQ(body.substr(line_end == std::string::npos ? body.size() : line_end), "\r\n")
          << "text after the closing delimiter";
      break;
    }
    EXPECT_NE(line_end, std::string::npos);
    const auto next = body.find(delimiter, line_end);
    EXPECT_NE(next, std::string::npos) << "part without an end";
    if (next == std::string::npos || line_end == std::string::npos) {
      break;
    }
    r.parts.push_back(split_entity(body.substr(line_end + 2, next - line_end - 2)));
    at = next;
  }
  return r;
}

// The message/delivery-status body: per-message fields, then one group per recipient.
std::vector<Fields> status_groups(const std::string& body) {
  std::vector<Fields> groups;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto blank = body.find("\r\n\r\n", pos);
    const auto end = blank == std::string::npos ? body.size() : blank + 2;
    groups.push_back(parse_fields(body.substr(pos, end - pos)));
    pos = blank == std::string::npos ? body.size() : blank + 4;
  }
  return groups;
}

std::string type_of(const Entity& e) { return field(e.headers, "Content-Type").value_or(""); }

// ---- inputs ---------------------------------------------------------------------------

const std::string original_headers = "Received: from client.example ([192.0.2.1])\r\n"
                                     "\tby mx2.example.test; Mon, 23 Nov 2026 00:00:00 +0000\r\n"
                                     "From: Bob <bob@sender.example>\r\n"
                                     "Subject: quarterly numbers\r\n"
                                     "Message-ID: <q4@sender.example>\r\n";
const std::string original_body = "The body line that only RET=FULL returns.\r\n";
const std::string original = original_headers + "\r\n" + original_body;

mail::Envelope envelope(mail::DsnRet ret) {
  mail::Envelope e;
  e.sender = {"bob", "sender.example"};
  e.recipients.push_back(
      {{"alice", "example.test"}, mail::NotifyFailure, "rfc822;alice@old.example.test"});
  e.recipients.push_back({{"carol", "example.test"}, mail::NotifyNone, ""});
  e.ret = ret;
  e.envid = "QQ314159";
  e.arrival_unix = arrival;
  return e;
}

DsnInput input(const mail::Envelope& e, DsnAction action) {
  DsnInput in;
  in.reporting_mta = "mx2.example.test";
  in.id = mail::QueueId{0x0006618E12345678ull};
  in.envelope = &e;
  in.original_message = original;
  in.action = action;
  in.now_unix = now;
  in.retry_until_unix = arrival + 5 * 86400;
  return in;
}

queue::RecipientState state(std::string last_error, std::string remote = "primary.example.test") {
  queue::RecipientState s;
  s.status = queue::RecipientStatus::Failed;
  s.last_error = std::move(last_error);
  s.remote = std::move(remote);
  return s;
}

// ---- the report as a whole ----------------------------------------------------------------

TEST(DsnBuilder, FailureNoticeIsAMultipartReportWithThreeParts) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(
      e.recipients[0], state("550 5.1.1 <alice@example.test>: user unknown"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  EXPECT_EQ(field(report.headers, "From"), "Mail Delivery System <MAILER-DAEMON@mx2.example.test>");
  EXPECT_EQ(field(report.headers, "To"), "<bob@sender.example>");
  EXPECT_EQ(field(report.headers, "Auto-Submitted"), "auto-replied"); // RFC 3834
  EXPECT_EQ(field(report.headers, "MIME-Version"), "1.0");
  EXPECT_EQ(field(report.headers, "Date"), smtp::rfc5322_date(now));
  EXPECT_TRUE(field(report.headers, "Message-ID").has_value());
  const auto type = field(report.headers, "Content-Type").value_or("");
  EXPECT_EQ(type.rfind("multipart/report;", 0), 0u) << type;
  EXPECT_NE(type.find("report-type=delivery-status"), std::string::npos) << type;
  ASSERT_EQ(report.parts.size(), 3u) << report.raw;
  EXPECT_TRUE(report.closed);
  EXPECT_EQ(type_of(report.parts[0]).rfind("text/plain", 0), 0u);
  EXPECT_EQ(type_of(report.parts[1]), "message/delivery-status");
  EXPECT_EQ(type_of(report.parts[2]), "message/rfc822");
  for (std::size_t start = 0, end; start < report.raw.size(); start = end + 2) {
    end = report.raw.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "the message does not end in CRLF";
    EXPECT_LE(end - start, 998u); // RFC 5322 2.1.1
    EXPECT_EQ(report.raw.substr(start, end - start).find_first_of("\r\n"), std::string::npos);
  }
}

TEST(DsnBuilder, PerMessageFields) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[1], state("550 5.1.1 no"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u) << report.parts[1].body;
  const auto& message = groups[0];
  EXPECT_EQ(field(message, "Reporting-MTA"), "dns; mx2.example.test");
  EXPECT_EQ(field(message, "Original-Envelope-Id"), "QQ314159");
  EXPECT_EQ(field(message, "Arrival-Date"), "Mon, 23 Nov 2026 00:00:00 +0000");
  EXPECT_FALSE(field(message, "Final-Recipient").has_value());
}

TEST(DsnBuilder, PerRecipientFields) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(
      e.recipients[0], state("550 5.1.1 <alice@example.test>: user unknown"), DsnAction::Failed));
  in.recipients.push_back(dsn_recipient(e.recipients[1],
                                        state("primary.example.test said: 554 5.7.1 relay denied"),
                                        DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 3u) << report.parts[1].body;

  const auto& alice = groups[1];
  EXPECT_EQ(field(alice, "Final-Recipient"), "rfc822; alice@example.test");
  EXPECT_EQ(field(alice, "Original-Recipient"), "rfc822;alice@old.example.test"); // ORCPT
  EXPECT_EQ(field(alice, "Action"), "failed");
  EXPECT_EQ(field(alice, "Status"), "5.1.1");
  EXPECT_EQ(field(alice, "Remote-MTA"), "dns; primary.example.test");
  EXPECT_EQ(field(alice, "Diagnostic-Code"), "smtp; 550 5.1.1 <alice@example.test>: user unknown");
  EXPECT_EQ(field(alice, "Last-Attempt-Date"), smtp::rfc5322_date(now));
  EXPECT_FALSE(field(alice, "Will-Retry-Until").has_value());

  const auto& carol = groups[2];
  EXPECT_EQ(field(carol, "Final-Recipient"), "rfc822; carol@example.test");
  EXPECT_FALSE(field(carol, "Original-Recipient").has_value()); // no ORCPT given
  EXPECT_EQ(field(carol, "Status"), "5.7.1"); // the reply inside "<host> said: ..."
  EXPECT_EQ(field(carol, "Diagnostic-Code"), "smtp; 554 5.7.1 relay denied");

  const auto& human = report.parts[0].body;
  EXPECT_NE(human.find("<alice@example.test>: 550 5.1.1 <alice@example.test>: user unknown"),
            std::string::npos)
      << human;
  EXPECT_NE(human.find("<carol@example.test>: primary.example.test said: 554 5.7.1 relay denied"),
            std::string::npos)
      << human;
}

TEST(DsnBuilder, RetFullReturnsTheWholeMessageByteForByte) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(type_of(report.parts[2]), "message/rfc822");
  const auto returned = report.parts[2].body;
  EXPECT_EQ(returned, original);
}

TEST(DsnBuilder, RetUnsetReturnsTheWholeMessage) {
  const auto e = envelope(mail::DsnRet::Unset);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(report.parts[2].body, original);
}

TEST(DsnBuilder, RetHdrsReturnsOnlyTheHeaders) {
  const auto e = envelope(mail::DsnRet::Headers);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto text = build_dsn(in);
  const auto report = parse_report(text);
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(type_of(report.parts[2]), "text/rfc822-headers");
  EXPECT_EQ(text.find("only RET=FULL returns"), std::string::npos);
  EXPECT_EQ(report.parts[2].body, original_headers);
}

TEST(DsnBuilder, RetHdrsOfAMessageWithoutBodyReturnsItsHeaders) {
  const auto e = envelope(mail::DsnRet::Headers);
  auto in = input(e, DsnAction::Failed);
  in.original_message = original_headers; // no empty line, no body
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(report.parts[2].body, original_headers);
}

TEST(DsnBuilder, ReturnedMessageThatContainsTheBoundaryCannotEndItsPart) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto first = parse_report(build_dsn(in));
  const auto boundary = boundary_of(first.headers);
  ASSERT_FALSE(boundary.empty());
  // A sender who can guess the boundary writes it into the message.
  in.original_message = original_headers + "\r\n--" + boundary + "\r\nContent-Type: text/plain" +
                        "\r\n\r\nforged part\r\n--" + boundary + "--\r\n";
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u) << report.raw;
  EXPECT_NE(boundary_of(report.headers), boundary);
  EXPECT_EQ(report.parts[2].body, in.original_message);
}

TEST(DsnBuilder, DelayNoticeSaysDelayedAndUntilWhen) {
  const auto e = envelope(mail::DsnRet::Headers);
  auto in = input(e, DsnAction::Delayed);
  in.now_unix = arrival + 4 * 3600;
  in.recipients.push_back(
      dsn_recipient(e.recipients[0], state("451 4.7.1 greylisted, try later"), DsnAction::Delayed));
  const auto report = parse_report(build_dsn(in));
  EXPECT_EQ(field(report.headers, "Subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Action"), "delayed");
  EXPECT_EQ(field(groups[1], "Status"), "4.7.1");
  EXPECT_EQ(field(groups[1], "Diagnostic-Code"), "smtp; 451 4.7.1 greylisted, try later");
  EXPECT_EQ(field(groups[1], "Will-Retry-Until"), smtp::rfc5322_date(arrival + 5 * 86400));
  EXPECT_NE(report.parts[0].body.find("THIS IS A WARNING ONLY"), std::string::npos);
}

// ---- what a recipient's queue state says in the report ------------------------------------

TEST(DsnRecipient, ExpiredMessageBouncesWith547AndTheLastReply) {
  const auto e = envelope(mail::DsnRet::Full);
  const auto r = dsn_recipient(e.recipients[0],
                               state(expired_error("451 4.3.0 <alice@example.test>: try later")),
                               DsnAction::Failed);
  EXPECT_EQ(r.status, "5.4.7"); // RFC 3463 X.4.7 delivery time expired
  EXPECT_EQ(r.diagnostic, "451 4.3.0 <alice@example.test>: try later");
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(r);
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Action"), "failed");
  EXPECT_EQ(field(groups[1], "Status"), "5.4.7");
  EXPECT_EQ(field(groups[1], "Diagnostic-Code"), "smtp; 451 4.3.0 <alice@example.test>: try later");
  EXPECT_NE(report.parts[0].body.find("<alice@example.test>: message expired in the queue; last "
                                      "error: 451 4.3.0 <alice@example.test>: try later"),
            std::string::npos)
      << report.parts[0].body;
}

TEST(DsnRecipient, ExpiredAfterConnectionFailuresHasNoDiagnosticCode) {
  const auto e = envelope(mail::DsnRet::Full);
  const auto r = dsn_recipient(
      e.recipients[0], state(expired_error("connect to 127.0.0.1:1: Connection refused"), ""),
      DsnAction::Failed);
  EXPECT_EQ(r.status, "5.4.7");
  EXPECT_EQ(r.diagnostic, "");
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(r);
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Status"), "5.4.7");
  EXPECT_FALSE(field(groups[1], "Diagnostic-Code").has_value());
  EXPECT_FALSE(field(groups[1], "Remote-MTA").has_value());
  EXPECT_NE(report.parts[0].body.find("last error: connect to 127.0.0.1:1: Connection refused"),
            std::string::npos);
}

TEST(DsnRecipient, ExpiredBeforeAnyAttempt) {
  EXPECT_EQ(expired_error(""), "message expired in the queue");
  const auto r = dsn_recipient(envelope(mail::DsnRet::Full).recipients[0],
                               state(expired_error(""), ""), DsnAction::Failed);
  EXPECT_EQ(r.status, "5.4.7");
  EXPECT_EQ(r.explanation, "message expired in the queue");
}

TEST(DsnRecipient, DelayStatusIsTheLastTemporaryReplyElse447) {
  const auto rcpt = envelope(mail::DsnRet::Full).recipients[0];
  EXPECT_EQ(dsn_recipient(rcpt, state("452 4.2.2 mailbox full"), DsnAction::Delayed).status,
            "4.2.2");
  EXPECT_EQ(dsn_recipient(rcpt, state("450 try later"), DsnAction::Delayed).status, "4.4.7");
  EXPECT_EQ(
      dsn_recipient(rcpt, state("connect to 127.0.0.1:1: Connection refused"), DsnAction::Delayed)
          .status,
      "4.4.7");
  EXPECT_EQ(dsn_recipient(rcpt, state(""), DsnAction::Delayed).status, "4.4.7");
}

TEST(DsnRecipient, FailureStatusKeepsTheFailureClass) {
  const auto rcpt = envelope(mail::DsnRet::Full).recipients[0];
  EXPECT_EQ(dsn_recipient(rcpt, state("550 5.7.1 refused"), DsnAction::Failed).status, "5.7.1");
  EXPECT_EQ(dsn_recipient(rcpt, state("550 refused"), DsnAction::Failed).status, "5.0.0");
  // A 5xx reply that carries a 4.x.x code is still a permanent failure (RFC 3463 2).
  EXPECT_EQ(dsn_recipient(rcpt, state("550 4.1.1 mixed up"), DsnAction::Failed).status, "5.0.0");
  EXPECT_EQ(dsn_recipient(rcpt, state("domain has a null MX"), DsnAction::Failed).status, "5.0.0");
}

TEST(DsnRecipient, StatusFromReply) {
  EXPECT_EQ(status_from_reply(550, "550 5.1.1 unknown"), "5.1.1");
  EXPECT_EQ(status_from_reply(550, "550-5.1.1 first line"), "5.1.1");
  EXPECT_EQ(status_from_reply(550, "550 user unknown"), "5.0.0");
  EXPECT_EQ(status_from_reply(451, "451 4.3.0 later"), "4.3.0");
  EXPECT_EQ(status_from_reply(451, "451 5.3.0 contradicts"), "4.0.0");
  EXPECT_EQ(status_from_reply(0, ""), "4.0.0");
  EXPECT_EQ(status_from_reply(250, "250 2.0.0 ok"), "2.0.0");
}

TEST(DsnRecipient, SmtpReplyInAnErrorText) {
  EXPECT_EQ(smtp_reply_in("550 5.1.1 no"), "550 5.1.1 no");
  EXPECT_EQ(smtp_reply_in("421"), "421");
  EXPECT_EQ(smtp_reply_in("mx.example said: 421 4.3.2 closing"), "421 4.3.2 closing");
  EXPECT_EQ(smtp_reply_in("connect to 192.0.2.1:25: Connection refused"), "");
  EXPECT_EQ(smtp_reply_in("EHLO failed at mx.example"), "");
  EXPECT_EQ(smtp_reply_in("mx.example said: nothing useful"), "");
}

// ---- hostile or unusual text from peers ------------------------------------------------

TEST(DsnBuilder, ControlCharactersInARemoteReplyCannotForgeFields) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(
      e.recipients[0], state("550 5.1.1 no\rX-Forged: yes\nStatus: 2.0.0", "mx\r\nX-Forged: 1"),
      DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(count(groups[1], "Status"), 1u);
  EXPECT_EQ(field(groups[1], "Status"), "5.1.1");
  EXPECT_FALSE(field(groups[1], "X-Forged").has_value());
  EXPECT_EQ(report.raw.find("\rX-Forged"), std::string::npos);
  EXPECT_EQ(report.raw.find("\nX-Forged"), std::string::npos);
}

TEST(DsnBuilder, LongRepliesAreFoldedBelowTheLineLimit) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  std::string reply = "550 5.7.1";
  for (int i = 0; i < 400; ++i) {
    reply += " word" + std::to_string(i);
  }
  in.recipients.push_back(dsn_recipient(e.recipients[0], state(reply), DsnAction::Failed));
  const auto text = build_dsn(in);
  for (std::size_t start = 0, end; start < text.size(); start = end + 2) {
    end = text.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 998u);
  }
  const auto report = parse_report(text);
  ASSERT_EQ(report.parts.size(), 3u);
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  const auto diagnostic = field(groups[1], "Diagnostic-Code").value_or("");
  EXPECT_EQ(diagnostic.rfind("smtp; 550 5.7.1 word0 word1 ", 0), 0u) << diagnostic;
  EXPECT_EQ(field(groups[1], "Status"), "5.7.1");
}

TEST(DsnBuilder, BlankRunsInARemoteReplyNeverMakeABlankLine) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(
      e.recipients[0], state("550 5.7.1" + std::string(300, ' ') + std::string(100, '\x01') + "x"),
      DsnAction::Failed));
  const auto text = build_dsn(in);
  const auto status_start = text.find("Final-Recipient:");
  const auto status_end = text.find("\r\n\r\n", status_start);
  ASSERT_NE(status_end, std::string::npos);
  for (std::size_t start = status_start, end; start < status_end; start = end + 2) {
    end = text.find("\r\n", start);
    const auto line = text.substr(start, end - start);
    EXPECT_NE(line.find_first_not_of(" \t"), std::string::npos) << "a line of blanks";
  }
  const auto groups = status_groups(parse_report(text).parts.at(1).body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Diagnostic-Code"), "smtp; 550 5.7.1 x");
}

TEST(DsnBuilder, NonAsciiSenderGetsTheGlobalTypes) {
  auto e = envelope(mail::DsnRet::Headers);
  e.sender = {"j\xc3\xbcrgen", "sender.example"};
  e.recipients[0].address = {"b\xc3\xa4r", "example.test"};
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(e.recipients[0], state("550 5.1.1 no"), DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(type_of(report.parts[1]), "message/global-delivery-status"); // RFC 6533
  EXPECT_EQ(type_of(report.parts[2]), "message/global-headers");
  const auto groups = status_groups(report.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Final-Recipient"), "utf-8; b\xc3\xa4r@example.test");
  EXPECT_TRUE(dsn_envelope(in, "127.0.0.1").smtputf8);
}

// RFC 6533 3: message/delivery-status is ASCII; a UTF-8 address goes in it as
// utf-8-addr-xtext ("\x{E4}" for each code point outside QCHAR).
TEST(DsnBuilder, NonAsciiRecipientOfAnAsciiSenderIsXtextInTheDeliveryStatus) {
  auto e = envelope(mail::DsnRet::Headers);
  e.recipients[0].address = {"b\xc3\xa4r+tag=1\xf0\x9f\x98\x80", "example.test"};
  e.recipients[0].orcpt = "rfc822;b\xc3\xa4r@old.example.test";
  auto in = input(e, DsnAction::Failed);
  in.recipients.push_back(dsn_recipient(
      e.recipients[0], state("550 5.1.1 <b\xc3\xa4r@example.test> unknown", "mx.\xc3\xa4.test"),
      DsnAction::Failed));
  const auto report = parse_report(build_dsn(in));
  ASSERT_EQ(report.parts.size(), 3u);
  EXPECT_EQ(type_of(report.parts[1]), "message/delivery-status");
  const auto& status = report.parts[1].body;
  for (unsigned char c : status) {
    ASSERT_LT(c, 0x80) << "8-bit octet in message/delivery-status:\n" << status;
  }
  const auto groups = status_groups(status);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(field(groups[1], "Final-Recipient"),
            "utf-8; b\\x{E4}r\\x{2B}tag\\x{3D}1\\x{1F600}@example.test");
  EXPECT_EQ(field(groups[1], "Diagnostic-Code"), "smtp; 550 5.1.1 <b??r@example.test> unknown");
  // People read the address as it is.
  EXPECT_NE(report.parts[0].body.find("<b\xc3\xa4r+tag=1\xf0\x9f\x98\x80@example.test>"),
            std::string::npos);
}

TEST(DsnBuilder, NoticeEnvelopeGoesFromNullSenderToTheSenderNeverNotified) {
  const auto e = envelope(mail::DsnRet::Full);
  auto in = input(e, DsnAction::Failed);
  const auto n = dsn_envelope(in, "127.0.0.1");
  EXPECT_TRUE(n.sender.is_null());
  ASSERT_EQ(n.recipients.size(), 1u);
  EXPECT_EQ(n.recipients[0].address, e.sender);
  EXPECT_EQ(n.recipients[0].notify, mail::NotifyNever);
  EXPECT_FALSE(n.smtputf8);
  EXPECT_EQ(n.arrival_unix, now);
}

} // namespace
} // namespace backstop::delivery
