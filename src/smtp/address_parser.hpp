// address_parser: RFC 5321 4.1.2 paths and the ESMTP parameters of MAIL and RCPT
// (SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531, RET/ENVID/NOTIFY/ORCPT RFC 3461).
// Pure functions over bytes. Knows the grammar, not the policy: whether a domain may
// receive is decided in policy/relay_domains.
#pragma once

#include "mail/address.hpp"
#include "mail/envelope.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace backstop::smtp {

enum class ParseError {
  Syntax,            // "FROM:" / "TO:" missing, unbalanced <>, garbage
  AddressSyntax,     // the path is not an RFC 5321 Mailbox (unqualified, user@a@b, bad domain)
  UnknownParameter,  // an ESMTP keyword we do not support -> 555
  BadParameterValue, // SIZE=abc, BODY=FOO, duplicated keyword -> 501
  NeedsSmtputf8,     // non-ASCII in an address without SMTPUTF8 -> 553 5.6.7
};

struct PathOptions {
  bool allow_utf8 = false; // the transaction declared SMTPUTF8
  bool allow_null = false; // "<>" is valid (MAIL FROM only)
};

// Parses "<path>" (angle brackets required; a leading source route "@a,@b:" is accepted
// and dropped as RFC 5321 4.1.2/C asks). Domain normalised with mail::normalize_domain;
// address literals kept as "[...]" text after checking their syntax. The special case
// "<postmaster>" (no domain) is returned with an empty domain and local "postmaster".
std::variant<mail::Address, ParseError> parse_path(std::string_view path, PathOptions options);

struct MailFromArgs {
  mail::Address sender; // null for <>
  std::uint64_t size = 0;
  mail::BodyType body = mail::BodyType::SevenBit;
  bool smtputf8 = false;
  mail::DsnRet ret = mail::DsnRet::Unset;
  std::string envid; // xtext-decoded
};

struct RcptToArgs {
  mail::Address recipient;
  std::uint8_t notify = mail::NotifyNone;
  std::string orcpt; // "rfc822;user@example" with xtext decoded
};

// argument is the text after "MAIL" (starting at "FROM:"), case-insensitive keyword; one
// optional space after the colon is tolerated, as most MTAs do.
std::variant<MailFromArgs, ParseError> parse_mail_from(std::string_view argument);
// argument is the text after "RCPT"; allow_utf8 from the transaction's MAIL FROM.
std::variant<RcptToArgs, ParseError> parse_rcpt_to(std::string_view argument, bool allow_utf8);

} // namespace backstop::smtp
