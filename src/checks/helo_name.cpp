// helo_name: HELO argument syntax (RFC 5321 4.1.1.1 and 4.1.3) and junk-name patterns.
#include "checks/helo_name.hpp"

#include "mail/address.hpp"
#include "mail/ip_address.hpp"

#include <algorithm>

namespace backstop::checks {

namespace {

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Letters, digits, '-' and (common on real hosts, harmless) '_'; no '-' at either end.
bool valid_label(std::string_view label) {
  return !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
         std::all_of(label.begin(), label.end(), is_label_char);
}

// Two labels or more, and a top label that is not all digits (that would be an address).
bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t labels = 0;
  std::string_view last;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    last = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!valid_label(last)) {
      return false;
    }
    ++labels;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  const bool numeric_top =
      std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
  return labels >= 2 && !numeric_top;
}

std::optional<asio::ip::address> parse_v4(std::string_view text) {
  std::error_code ec;
  const auto a = asio::ip::make_address_v4(std::string(text), ec);
  return ec ? std::nullopt : std::optional<asio::ip::address>(a);
}

// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3); other tags are not accepted.
std::optional<asio::ip::address> parse_literal(std::string_view inner) {
  constexpr std::string_view tag = "ipv6:";
  if (inner.size() > tag.size() && inner.substr(0, tag.size()) == tag) {
    std::error_code ec;
    const auto a = asio::ip::make_address_v6(std::string(inner.substr(tag.size())), ec);
    return ec ? std::nullopt : std::optional<asio::ip::address>(unmapped(a));
  }
  return parse_v4(inner);
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

} // namespace

using mail::unmapped;

HeloName HeloName::parse(std::string_view text) {
  HeloName out;
  out.name = mail::ascii_lower(text);
  if (!out.name.empty() && out.name.back() == '.') {
    out.name.pop_back();
  }
  const std::string& n = out.name;
  if (n.size() >= 2 && n.front() == '[' && n.back() == ']') {
    if (auto a = parse_literal(std::string_view(n).substr(1, n.size() - 2))) {
      out.kind = Kind::Literal;
      out.address = *a;
    }
    return out;
  }
  if (auto a = parse_v4(n)) {
    out.kind = Kind::BareAddress;
    out.address = *a;
  } else if (n.find(':') != std::string::npos) {
    std::error_code ec;
    const auto v6 = asio::ip::make_address_v6(n, ec);
    if (!ec) {
      out.kind = Kind::BareAddress;
      out.address = unmapped(v6);
    }
  } else if (valid_host_name(n)) {
    out.kind = Kind::Name;
  }
  return out;
}

std::optional<HeloPattern> HeloPattern::compile(const std::string& text, std::string& error) {
  HeloPattern p;
  p.text_ = text;
  if (text.size() >= 2 && text.front() == '/' && text.back() == '/') {
    try {
      p.regex_ = std::make_shared<const std::regex>(text.substr(1, text.size() - 2),
                                                    std::regex::ECMAScript | std::regex::icase);
    } catch (const std::regex_error& e) {
      error = std::string("not a valid regular expression: ") + e.what();
      return std::nullopt;
    }
    return p;
  }
  if (text.empty()) {
    error = "an empty pattern";
    return std::nullopt;
  }
  p.glob_ = mail::ascii_lower(text);
  return p;
}

bool HeloPattern::matches(const std::string& lower_name) const {
  if (regex_) {
    return std::regex_search(lower_name, *regex_);
  }
  return glob_match(glob_, lower_name);
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    out += (c > 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 64) {
    out += "...";
  }
  return out;
}

} // namespace backstop::checks
