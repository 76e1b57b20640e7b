// address_parser: RFC 5321 4.1.2 Path/Mailbox grammar and the MAIL/RCPT parameters.
#include "smtp/address_parser.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <optional>
#include <set>
#include <vector>

namespace backstop::smtp {

namespace {

constexpr std::size_t max_local_part = 64;
constexpr std::size_t max_domain = 255;
constexpr std::size_t max_path = 256;

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Length of the valid UTF-8 sequence at s[0], or 0 (RFC 3629: no overlongs, no surrogates).
std::size_t utf8_sequence(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t len = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    lo = b0 == 0xE0 ? 0xA0 : 0x80;
    hi = b0 == 0xED ? 0x9F : 0xBF;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    lo = b0 == 0xF0 ? 0x90 : 0x80;
    hi = b0 == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (s.size() < len) {
    return 0;
  }
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) {
      return 0;
    }
  }
  return len;
}

// Checks the non-ASCII bytes of text: allowed only with SMTPUTF8, and then valid UTF-8.
std::optional<ParseError> check_utf8(std::string_view text, bool allow_utf8) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    if (!allow_utf8) {
      return ParseError::NeedsSmtputf8;
    }
    const std::size_t n = utf8_sequence(text.substr(i));
    if (n == 0) {
      return ParseError::AddressSyntax;
    }
    i += n;
  }
  return std::nullopt;
}

bool valid_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') {
    return false;
  }
  char prev = 0;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (prev == '.') {
        return false;
      }
    } else if (!mail::is_atext(u)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > max_domain) {
    return false;
  }
  std::size_t start = 0;
  while (start <= d.size()) {
    auto dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!is_alnum(u) && c != '-' && u < 0x80) {
        return false;
      }
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
  return false;
}

bool valid_address_literal(std::string_view d) {
  if (d.size() < 3 || d.front() != '[' || d.back() != ']') {
    return false;
  }
  std::string inner(d.substr(1, d.size() - 2));
  unsigned char buf[16];
  if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0) {
    return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  }
  return inet_pton(AF_INET, inner.c_str(), buf) == 1;
}

// Quoted local part: returns the unquoted text, or nullopt. pos at the opening quote.
std::optional<std::string> read_quoted(std::string_view s, std::size_t& pos) {
  std::string out;
  for (++pos; pos < s.size(); ++pos) {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c == '"') {
      ++pos;
      return out;
    }
    if (c == '\\') {
      if (++pos >= s.size()) {
        return std::nullopt;
      }
      const auto q = static_cast<unsigned char>(s[pos]);
      if (q < 32 || q > 126) {
        return std::nullopt; // quoted-pairSMTP: %d92 %d32-126
      }
      out += static_cast<char>(q);
      continue;
    }
    if (c < 32 || c == 127) {
      return std::nullopt;
    }
    out += static_cast<char>(c);
  }
  return std::nullopt;
}

std::variant<mail::Address, ParseError> parse_mailbox(std::string_view s, bool allow_utf8) {
  if (auto e = check_utf8(s, allow_utf8)) {
    return *e;
  }
  mail::Address address;
  std::size_t pos = 0;
  if (!s.empty() && s.front() == '"') {
    auto quoted = read_quoted(s, pos);
    if (!quoted || pos >= s.size() || s[pos] != '@') {
      return ParseError::AddressSyntax;
    }
    address.local = std::move(*quoted);
  } else {
    pos = s.find('@');
    if (pos == std::string_view::npos || !valid_dot_string(s.substr(0, pos))) {
      return ParseError::AddressSyntax;
    }
    address.local = std::string(s.substr(0, pos));
  }
  std::string_view domain = s.substr(pos + 1);
  if (domain.size() > 1 && domain.back() == '.' && domain.front() != '[') {
    domain.remove_suffix(1); // "user@example.test." names the same domain
  }
  if (address.local.size() > max_local_part ||
      !(valid_domain(domain) || valid_address_literal(domain))) {
    return ParseError::AddressSyntax;
  }
  address.domain = mail::normalize_domain(domain);
  return address;
}

bool iequal_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

// Drops "@a,@b:" in front of the mailbox (RFC 5321 4.1.2 / appendix C).
std::optional<std::string_view> strip_source_route(std::string_view inner) {
  if (inner.empty() || inner.front() != '@') {
    return inner;
  }
  const auto colon = inner.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view route = inner.substr(0, colon);
  std::size_t start = 0;
  while (start < route.size()) {
    auto comma = route.find(',', start);
    std::string_view hop =
        route.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1))) {
      return std::nullopt;
    }
    start = comma == std::string_view::npos ? route.size() : comma + 1;
  }
  return inner.substr(colon + 1);
}

// Finds the '>' closing the path that starts at s[0] == '<', skipping quoted strings.
std::size_t path_end(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && s[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

struct Param {
  std::string keyword; // upper case
  std::string_view value;
  bool has_value = false;
};

std::optional<std::vector<Param>> split_params(std::string_view s) {
  std::vector<Param> out;
  std::set<std::string> seen;
  std::size_t pos = 0;
  while (pos < s.size()) {
    if (s[pos] == ' ') {
      ++pos;
      continue;
    }
    auto end = s.find(' ', pos);
    std::string_view item = s.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? s.size() : end;
    Param p;
    auto eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    if (key.empty()) {
      return std::nullopt;
    }
    for (char c : key) {
      if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') {
        return std::nullopt;
      }
      p.keyword += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (eq != std::string_view::npos) {
      p.value = item.substr(eq + 1);
      p.has_value = true;
    }
    if (!seen.insert(p.keyword).second) {
      return std::nullopt;
    }
    out.push_back(p);
  }
  return out;
}

// RFC 3461 4: xtext, "+HH" escapes for the rest.
std::optional<std::string> decode_xtext(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 3 > s.size()) {
        return std::nullopt;
      }
      unsigned v = 0;
      auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc() || end != s.data() + i + 3) {
        return std::nullopt;
      }
      if (v < 32 || v == 127) {
        return std::nullopt; // a decoded CR, LF or NUL would end up in a DSN header
      }
      out += static_cast<char>(v);
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return std::nullopt;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Splits "FROM:<path> params" into the path text (with brackets) and the params text.
std::optional<std::pair<std::string_view, std::string_view>>
split_path_and_params(std::string_view argument, std::string_view keyword) {
  if (!iequal_prefix(argument, keyword)) {
    return std::nullopt;
  }
  std::string_view rest = argument.substr(keyword.size());
  if (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1); // "MAIL FROM: <a@b>" is common enough to tolerate
  }
  if (rest.empty() || rest.front() != '<') {
    return std::nullopt;
  }
  const auto close = path_end(rest);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view params = rest.substr(close + 1);
  if (!params.empty() && params.front() != ' ') {
    return std::nullopt;
  }
  return std::make_pair(rest.substr(0, close + 1), params);
}

} // namespace

std::variant<mail::Address, ParseError> parse_path(std::string_view path, PathOptions options) {
  if (path.size() < 2 || path.front() != '<' || path.back() != '>') {
    return ParseError::Syntax;
  }
  if (path.size() > max_path) { // RFC 5321 4.5.3.1.3: brackets count
    return ParseError::AddressSyntax;
  }
  std::string_view inner = path.substr(1, path.size() - 2);
  if (inner.empty()) {
    return options.allow_null ? std::variant<mail::Address, ParseError>(mail::Address{})
                              : ParseError::AddressSyntax;
  }
  if (iequal_prefix(inner, "POSTMASTER") && inner.size() == 10) {
    return mail::Address{"postmaster", ""};
  }
  auto mailbox = strip_source_route(inner);
  if (!mailbox) {
    return ParseError::AddressSyntax;
  }
  return parse_mailbox(*mailbox, options.allow_utf8);
}

std::variant<MailFromArgs, ParseError> parse_mail_from(std::string_view argument) {
  auto split = split_path_and_params(argument, "FROM:");
  if (!split) {
    return ParseError::Syntax;
  }
  auto params = split_params(split->second);
  if (!params) {
    return ParseError::BadParameterValue;
  }
  MailFromArgs args;
  for (const auto& p : *params) {
    if (p.keyword == "SMTPUTF8" && !p.has_value) {
      args.smtputf8 = true;
    }
  }
  for (const auto& p : *params) {
    if (p.keyword == "SIZE") {
      auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), args.size);
      if (!p.has_value || p.value.empty() || p.value.size() > 20 || ec != std::errc() ||
          end != p.value.data() + p.value.size()) {
        return ParseError::BadParameterValue;
      }
    } else if (p.keyword == "BODY") {
      if (iequal_prefix(p.value, "7BIT") && p.value.size() == 4) {
        args.body = mail::BodyType::SevenBit;
      } else if (iequal_prefix(p.value, "8BITMIME") && p.value.size() == 8) {
        args.body = mail::BodyType::EightBitMime;
      } else if (iequal_prefix(p.value, "BINARYMIME") && p.value.size() == 10) {
        return ParseError::UnknownParameter; // not advertised
      } else {
        return ParseError::BadParameterValue;
      }
    } else if (p.keyword == "SMTPUTF8") {
      if (p.has_value) {
        return ParseError::BadParameterValue;
      }
    } else if (p.keyword == "RET") {
      if (iequal_prefix(p.value, "FULL") && p.value.size() == 4) {
        args.ret = mail::DsnRet::Full;
      } else if (iequal_prefix(p.value, "HDRS") && p.value.size() == 4) {
        args.ret = mail::DsnRet::Headers;
      } else {
        return ParseError::BadParameterValue;
      }
    } else if (p.keyword == "ENVID") {
      auto decoded = decode_xtext(p.value);
      if (!decoded || decoded->empty() || decoded->size() > 100) {
        return ParseError::BadParameterValue;
      }
      args.envid = std::move(*decoded);
    } else {
      return ParseError::UnknownParameter;
    }
  }
  auto sender = parse_path(split->first, {args.smtputf8, true});
  if (auto* e = std::get_if<ParseError>(&sender)) {
    return *e;
  }
  args.sender = std::move(std::get<mail::Address>(sender));
  if (args.sender.domain.empty() && !args.sender.is_null()) {
    return ParseError::AddressSyntax; // <postmaster> is a recipient form only
  }
  return args;
}

namespace {
std::optional<std::uint8_t> parse_notify(std::string_view value) {
  std::uint8_t flags = 0;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    std::string_view item =
        value.substr(start, comma == std::string_view::npos ? comma : comma - start);
    std::uint8_t flag = 0;
    if (iequal_prefix(item, "NEVER") && item.size() == 5) {
      flag = mail::NotifyNever;
    } else if (iequal_prefix(item, "SUCCESS") && item.size() == 7) {
      flag = mail::NotifySuccess;
    } else if (iequal_prefix(item, "FAILURE") && item.size() == 7) {
      flag = mail::NotifyFailure;
    } else if (iequal_prefix(item, "DELAY") && item.size() == 5) {
      flag = mail::NotifyDelay;
    } else {
      return std::nullopt;
    }
    if ((flags & flag) != 0) {
      return std::nullopt;
    }
    flags |= flag;
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  if ((flags & mail::NotifyNever) != 0 && flags != mail::NotifyNever) {
    return std::nullopt;
  }
  return flags;
}
} // namespace

std::variant<RcptToArgs, ParseError> parse_rcpt_to(std::string_view argument, bool allow_utf8) {
  auto split = split_path_and_params(argument, "TO:");
  if (!split) {
    return ParseError::Syntax;
  }
  auto params = split_params(split->second);
  if (!params) {
    return ParseError::BadParameterValue;
  }
  RcptToArgs args;
  for (const auto& p : *params) {
    if (p.keyword == "NOTIFY") {
      auto flags = parse_notify(p.value);
      if (!flags) {
        return ParseError::BadParameterValue;
      }
      args.notify = *flags;
    } else if (p.keyword == "ORCPT") {
      const auto semi = p.value.find(';');
      if (semi == std::string_view::npos || semi == 0) {
        return ParseError::BadParameterValue;
      }
      auto decoded = decode_xtext(p.value.substr(semi + 1));
      if (!decoded || decoded->size() > 500) {
        return ParseError::BadParameterValue;
      }
      args.orcpt = std::string(p.value.substr(0, semi + 1)) + *decoded;
    } else {
      return ParseError::UnknownParameter;
    }
  }
  auto recipient = parse_path(split->first, {allow_utf8, false});
  if (auto* e = std::get_if<ParseError>(&recipient)) {
    return *e;
  }
  args.recipient = std::move(std::get<mail::Address>(recipient));
  return args;
}

} // namespace backstop::smtp
