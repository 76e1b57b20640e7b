// address: a parsed RFC 5321 mailbox (local part + domain) and domain normalisation.
// Holds owned strings; parsing lives in smtp/address_parser, which knows the grammar.
#pragma once

#include <string>
#include <string_view>

namespace backstop::mail {

// Lower-cases ASCII letters and drops one trailing dot, so "Example.TEST." == "example.test".
// Non-ASCII (SMTPUTF8 U-labels) bytes are kept as they are.
std::string normalize_domain(std::string_view domain);

// ASCII letters lower-cased, every other byte (UTF-8 included) kept: the case rules of
// domains, SMTP verbs and "postmaster", independent of the C locale.
std::string ascii_lower(std::string_view text);
bool ascii_iequals(std::string_view a, std::string_view b);

struct Address {
  std::string local;  // as received, quoting removed only where the grammar says it is equal
  std::string domain; // normalised with normalize_domain; for address literals "[1.2.3.4]"

  bool is_null() const { return local.empty() && domain.empty(); }
  // The mailbox as it goes back on the wire, quoting the local part where it needs quotes.
  std::string to_string() const;
  bool operator==(const Address&) const = default;
};

// RFC 5322 atext, with every non-ASCII octet counted as atext (RFC 6531).
bool is_atext(unsigned char c);

// True when the local part must be written as a quoted string (RFC 5321 4.1.2).
bool local_part_needs_quotes(std::string_view local);

} // namespace backstop::mail
