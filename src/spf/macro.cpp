// macro: parse and expand SPF macro strings (RFC 7208 7.1 to 7.4).
#include "spf/macro.hpp"

#include "spf/ascii.hpp"

#include <algorithm>
#include <array>

namespace backstop::spf {

namespace {

constexpr std::string_view letters = "slodipvhcrt";
constexpr std::string_view explanation_only = "crt";
constexpr std::string_view delimiter_chars = ".-+,/_=";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// macro-literal = %x21-24 / %x26-7E; explanation texts also allow SP (6.2 explain-string).
bool is_literal(char c, MacroUse use) {
  const auto u = static_cast<unsigned char>(c);
  if (u == ' ') {
    return use == MacroUse::Explanation;
  }
  return u >= 0x21 && u <= 0x7e && u != '%';
}

// The inside of "%{...}", after the brace: letter, digits, "r", delimiters, "}".
mail::Result<MacroPart> parse_expand(std::string_view text, std::size_t& i, MacroUse use) {
  MacroPart part;
  if (i >= text.size() || letters.find(lower(text[i])) == std::string_view::npos) {
    return mail::make_error("unknown macro letter in \"" + std::string(text) + "\"");
  }
  part.letter = lower(text[i]);
  part.escape = text[i] >= 'A' && text[i] <= 'Z';
  if (use != MacroUse::Explanation &&
      explanation_only.find(part.letter) != std::string_view::npos) {
    return mail::make_error(std::string("macro %{") + part.letter +
                            "} is allowed only in explanations");
  }
  ++i;
  bool digits = false;
  while (i < text.size() && is_digit(text[i])) {
    digits = true;
    part.keep = std::min(part.keep * 10 + static_cast<unsigned>(text[i] - '0'), 1000u);
    ++i;
  }
  if (digits && part.keep == 0) {
    return mail::make_error("macro transformer 0 in \"" + std::string(text) + "\"");
  }
  if (i < text.size() && lower(text[i]) == 'r') {
    part.reverse = true;
    ++i;
  }
  while (i < text.size() && delimiter_chars.find(text[i]) != std::string_view::npos) {
    part.delimiters += text[i];
    ++i;
  }
  if (i >= text.size() || text[i] != '}') {
    return mail::make_error("unterminated or malformed macro in \"" + std::string(text) + "\"");
  }
  ++i;
  return part;
}

void append_literal(std::vector<MacroPart>& parts, std::string_view text) {
  if (parts.empty() || parts.back().letter != 0 || parts.back().escape_sequence) {
    parts.push_back(MacroPart{});
  }
  parts.back().literal += text;
}

const std::string& value_of(char letter, const MacroValues& v) {
  switch (letter) {
  case 's':
    return v.sender;
  case 'l':
    return v.local;
  case 'o':
    return v.sender_domain;
  case 'd':
    return v.domain;
  case 'i':
    return v.ip;
  case 'p':
    return v.validated;
  case 'v':
    return v.ip_version;
  case 'h':
    return v.helo;
  case 'c':
    return v.client;
  case 'r':
    return v.receiver;
  default:
    return v.timestamp;
  }
}

std::vector<std::string_view> split(std::string_view value, std::string_view delimiters) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" stay; everything else becomes %XX (7.3).
std::string url_escape(std::string_view value) {
  static constexpr std::array<char, 16> hex{'0', '1', '2', '3', '4', '5', '6', '7',
                                            '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  std::string out;
  for (char c : value) {
    if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

std::string expand_part(const MacroPart& part, const MacroValues& values) {
  auto pieces =
      split(value_of(part.letter, values), part.delimiters.empty() ? "." : part.delimiters);
  if (part.reverse) {
    std::reverse(pieces.begin(), pieces.end());
  }
  if (part.keep != 0 && part.keep < pieces.size()) {
    pieces.erase(pieces.begin(), pieces.end() - part.keep);
  }
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    joined += (i == 0 ? "" : ".");
    joined += pieces[i];
  }
  return part.escape ? url_escape(joined) : joined;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool valid_toplabel(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') {
    return false;
  }
  bool has_alpha = false;
  for (char c : label) {
    if (!is_alpha(c) && !is_digit(c) && c != '-') {
      return false;
    }
    has_alpha = has_alpha || is_alpha(c);
  }
  // A dash makes an all-digit label a valid toplabel too, by the second alternative.
  return has_alpha || label.find('-') != std::string_view::npos;
}

} // namespace

mail::Result<MacroString> MacroString::parse(std::string_view text, MacroUse use) {
  MacroString out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '%') {
      if (!is_literal(c, use)) {
        return mail::make_error("invalid character in \"" + std::string(text) + "\"");
      }
      append_literal(out.parts_, text.substr(i, 1));
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) {
      return mail::make_error("a lone '%' ends \"" + std::string(text) + "\"");
    }
    const char next = text[i + 1];
    i += 2;
    if (next == '%' || next == '_' || next == '-') {
      // Kept as their own parts: they count as macro-expand for domain-end (7.1).
      MacroPart part;
      part.literal = next == '%' ? "%" : next == '_' ? " " : "%20";
      part.escape_sequence = true;
      out.parts_.push_back(std::move(part));
      continue;
    }
    if (next != '{') {
      return mail::make_error("'%' must be followed by '{', '%', '_' or '-' in \"" +
                              std::string(text) + "\"");
    }
    auto part = parse_expand(text, i, use);
    if (!part) {
      return part.error();
    }
    out.parts_.push_back(std::move(*part));
  }
  return out;
}

std::string MacroString::expand(const MacroValues& values) const {
  std::string out;
  for (const auto& part : parts_) {
    out += part.letter == 0 ? part.literal : expand_part(part, values);
  }
  return out;
}

bool MacroString::uses(char letter) const {
  return std::any_of(parts_.begin(), parts_.end(),
                     [letter](const MacroPart& p) { return p.letter == letter; });
}

bool MacroString::valid_domain_end() const {
  if (parts_.empty()) {
    return false;
  }
  const MacroPart& last = parts_.back();
  if (last.letter != 0 || last.escape_sequence) {
    return true;
  }
  std::string_view tail = last.literal;
  if (tail.back() == '.') {
    tail.remove_suffix(1);
  }
  const auto dot = tail.rfind('.');
  return dot != std::string_view::npos && valid_toplabel(tail.substr(dot + 1));
}

std::string query_name(std::string_view expanded) {
  std::string name(expanded);
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  while (name.size() > 253) {
    const auto dot = name.find('.');
    if (dot == std::string::npos) {
      return {};
    }
    name.erase(0, dot + 1);
  }
  for (const auto label : split(name, ".")) {
    if (label.empty() || label.size() > 63) {
      return {};
    }
  }
  return name;
}

} // namespace backstop::spf
