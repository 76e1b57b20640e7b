// helo_name: the pure parts of the HELO check: what kind of name a HELO argument is (host
// name, address literal, a bare address, nothing valid) and the junk-name patterns.
#pragma once

#include "mail/ip_address.hpp"

#include <asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace backstop::checks {

struct HeloName {
  enum class Kind { Name, Literal, BareAddress, Invalid };
  Kind kind = Kind::Invalid;
  std::string name;          // lower case, one trailing dot dropped: what patterns see
  asio::ip::address address; // for Literal and BareAddress, IPv4-mapped written as IPv4

  static HeloName parse(std::string_view text);
};

// A glob ('*', '?') matched against the whole name, or a regex written as /.../ searched in
// it (anchor it with ^ and $); both case-insensitive.
class HeloPattern {
public:
  static std::optional<HeloPattern> compile(const std::string& text, std::string& error);
  bool matches(const std::string& lower_name) const;
  const std::string& text() const { return text_; }

private:
  std::string text_;
  std::string glob_;
  std::shared_ptr<const std::regex> regex_;
};

using mail::unmapped; // for the HELO checks' comparisons
// Client-chosen text made safe for a reply line: printable ASCII only, at most 64 octets.
std::string printable(std::string_view text);

} // namespace backstop::checks
