// macro: SPF macro strings (RFC 7208 7): their syntax, checked when a record is parsed so that
// an error anywhere in a record is found before it is evaluated, and their expansion.
#pragma once

#include "mail/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace backstop::spf {

// Where a macro string stands decides which letters and characters it may hold: c, r and t
// only in explanation texts (7.1), spaces only there too.
enum class MacroUse { DomainSpec, Modifier, Explanation };

// The values of the macro letters for one check_host() call (7.3).
struct MacroValues {
  std::string sender;        // s: <sender>, local@domain
  std::string local;         // l
  std::string sender_domain; // o
  std::string domain;        // d: the domain being evaluated
  std::string ip;            // i: dotted quad, or 32 dotted nibbles for IPv6
  std::string validated;     // p: the evaluator fills it in when the string uses it
  std::string ip_version;    // v: "in-addr" or "ip6"
  std::string helo;          // h
  std::string client;        // c: the address as people write it
  std::string receiver;      // r
  std::string timestamp;     // t: seconds since the epoch
};

struct MacroPart {
  std::string literal;          // when letter is 0
  char letter = 0;              // lower case
  bool escape = false;          // written in upper case: URL-escape the value
  unsigned keep = 0;            // the rightmost parts to keep; 0 keeps all
  bool reverse = false;         // the "r" transformer
  std::string delimiters;       // empty means "."
  bool escape_sequence = false; // a literal written "%%", "%_" or "%-": a macro-expand too
};

class MacroString {
public:
  static mail::Result<MacroString> parse(std::string_view text, MacroUse use);

  std::string expand(const MacroValues& values) const;
  bool uses(char letter) const;
  bool empty() const { return parts_.empty(); }
  // A domain-spec ends in a macro or in "." toplabel ["."] (7.1 domain-end).
  bool valid_domain_end() const;

private:
  std::vector<MacroPart> parts_;
};

// A name from an expanded domain-spec as it is asked in DNS: one trailing dot dropped, cut
// from the left to 253 characters label by label (7.3). Empty when no query can be formed
// from it (an empty or over-long label): the mechanism then matches nothing.
std::string query_name(std::string_view expanded);

} // namespace backstop::spf
