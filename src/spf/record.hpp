// record: an SPF record (RFC 7208 4.5, 4.6, 5, 6) parsed and checked whole before it is
// evaluated, so that a syntax error anywhere is a permerror (4.6) even when an earlier
// mechanism would match.
#pragma once

#include "mail/result.hpp"
#include "spf/macro.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::spf {

enum class Mechanism { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

struct Directive {
  char qualifier = '+'; // '+', '-', '~' or '?'
  Mechanism mechanism = Mechanism::All;
  std::optional<MacroString> target;      // include, exists; a, mx and ptr when written
  std::array<std::uint8_t, 16> network{}; // ip4 (first 4 bytes) and ip6
  unsigned cidr4 = 32;
  unsigned cidr6 = 128;
  std::string text; // as written, for logs and the Received-SPF "mechanism" key

  // a, mx, ptr, include and exists ask DNS and count against the limit of 10 (4.6.4).
  bool asks_dns() const {
    return mechanism != Mechanism::All && mechanism != Mechanism::Ip4 &&
           mechanism != Mechanism::Ip6;
  }
};

struct Record {
  std::vector<Directive> directives;
  std::optional<MacroString> redirect;
  std::optional<MacroString> explanation;
};

// "v=spf1" alone or followed by a space, in any case (4.5).
bool is_spf_record(std::string_view text);

// text is a whole record, "v=spf1 ..."; the error says which term is wrong.
mail::Result<Record> parse_record(std::string_view text);

} // namespace backstop::spf
