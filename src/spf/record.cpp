// record: the SPF record grammar of RFC 7208 4.6.1, 5 and 6 (and 12 for the ABNF).
#include "spf/record.hpp"

#include "mail/address.hpp"
#include "spf/ascii.hpp"

#include <arpa/inet.h>
#include <utility>

namespace backstop::spf {

namespace {

constexpr std::string_view version = "v=spf1";

mail::Error term_error(std::string_view term, std::string_view what) {
  return mail::make_error(std::string(what) + " in \"" + std::string(term) + "\"");
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), directly followed by "=" (4.6.1).
std::size_t modifier_name_length(std::string_view term) {
  if (term.empty() || !is_alpha(term[0])) {
    return 0;
  }
  std::size_t i = 1;
  while (i < term.size() && (is_alpha(term[i]) || is_digit(term[i]) || term[i] == '-' ||
                             term[i] == '_' || term[i] == '.')) {
    ++i;
  }
  return i < term.size() && term[i] == '=' ? i : 0;
}

// "/" then a decimal without leading zeros, at most max (ip4-cidr-length, ip6-cidr-length).
bool parse_cidr(std::string_view digits, unsigned max, unsigned& out) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
    return false;
  }
  unsigned value = 0;
  for (char c : digits) {
    if (!is_digit(c)) {
      return false;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max) {
    return false;
  }
  out = value;
  return true;
}

// Takes a trailing "/<digits>" off text (not "//<digits>" unless double is set).
std::optional<std::string_view> take_cidr_suffix(std::string_view& text, bool double_slash) {
  const auto slash = text.rfind('/');
  if (slash == std::string_view::npos || slash + 1 == text.size()) {
    return std::nullopt;
  }
  const auto digits = text.substr(slash + 1);
  for (char c : digits) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
  }
  const bool preceded = slash > 0 && text[slash - 1] == '/';
  if (double_slash != preceded) {
    return std::nullopt;
  }
  text = text.substr(0, double_slash ? slash - 1 : slash);
  return digits;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], at the end of text.
mail::Status take_dual_cidr(std::string_view& text, Directive& d, std::string_view term) {
  if (auto six = take_cidr_suffix(text, true); six && !parse_cidr(*six, 128, d.cidr6)) {
    return term_error(term, "bad IPv6 prefix length");
  }
  if (auto four = take_cidr_suffix(text, false); four && !parse_cidr(*four, 32, d.cidr4)) {
    return term_error(term, "bad IPv4 prefix length");
  }
  return mail::Ok{};
}

mail::Status set_target(Directive& d, std::string_view spec, std::string_view term) {
  if (spec.empty()) {
    return term_error(term, "empty domain");
  }
  auto target = MacroString::parse(spec, MacroUse::DomainSpec);
  if (!target) {
    return term_error(term, target.error().message);
  }
  if (!target->valid_domain_end()) {
    return term_error(term, "not a domain name");
  }
  d.target = std::move(*target);
  return mail::Ok{};
}

// a / mx: [ ":" domain-spec ] [ dual-cidr-length ]
mail::Status parse_host_mechanism(Directive& d, std::string_view rest, std::string_view term) {
  if (auto s = take_dual_cidr(rest, d, term); !s) {
    return s;
  }
  if (rest.empty()) {
    return mail::Ok{};
  }
  if (rest.front() != ':') {
    return term_error(term, "unexpected text");
  }
  return set_target(d, rest.substr(1), term);
}

// ip4-network: four decimal octets without leading zeros (5.6).
bool parse_ip4(std::string_view text, std::array<std::uint8_t, 16>& out) {
  std::size_t octet = 0;
  std::size_t i = 0;
  while (octet < 4) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) {
      ++i;
    }
    unsigned value = 0;
    const auto digits = text.substr(start, i - start);
    if (!parse_cidr(digits, 255, value)) {
      return false;
    }
    out[octet++] = static_cast<std::uint8_t>(value);
    if (octet < 4) {
      if (i >= text.size() || text[i] != '.') {
        return false;
      }
      ++i;
    }
  }
  return i == text.size();
}

bool parse_ip6(std::string_view text, std::array<std::uint8_t, 16>& out) {
  if (text.empty() || text.size() > 45) {
    return false;
  }
  for (char c : text) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && c != ':' &&
        c != '.') {
      return false; // no zone ids ("%eth0") or anything else inet_pton might take
    }
  }
  const std::string copy(text);
  return ::inet_pton(AF_INET6, copy.c_str(), out.data()) == 1;
}

// ip4 / ip6: ":" network [ cidr-length ]
mail::Status parse_ip_mechanism(Directive& d, std::string_view rest, std::string_view term) {
  if (rest.empty() || rest.front() != ':') {
    return term_error(term, "missing address");
  }
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const auto network = rest.substr(0, slash);
  const bool four = d.mechanism == Mechanism::Ip4;
  if (four ? !parse_ip4(network, d.network) : !parse_ip6(network, d.network)) {
    return term_error(term, "bad address");
  }
  if (slash != std::string_view::npos &&
      !parse_cidr(rest.substr(slash + 1), four ? 32 : 128, four ? d.cidr4 : d.cidr6)) {
    return term_error(term, "bad prefix length");
  }
  return mail::Ok{};
}

std::optional<Mechanism> mechanism_named(std::string_view name) {
  static constexpr std::pair<std::string_view, Mechanism> names[] = {
      {"all", Mechanism::All}, {"include", Mechanism::Include}, {"a", Mechanism::A},
      {"mx", Mechanism::Mx},   {"ptr", Mechanism::Ptr},         {"ip4", Mechanism::Ip4},
      {"ip6", Mechanism::Ip6}, {"exists", Mechanism::Exists}};
  for (const auto& [text, mechanism] : names) {
    if (mail::ascii_iequals(name, text)) {
      return mechanism;
    }
  }
  return std::nullopt;
}

mail::Result<Directive> parse_directive(std::string_view term) {
  Directive d;
  d.text = std::string(term);
  std::string_view body = term;
  if (!body.empty() && std::string_view("+-~?").find(body.front()) != std::string_view::npos) {
    d.qualifier = body.front();
    body.remove_prefix(1);
  }
  const auto end = body.find_first_of(":/");
  const auto mechanism = mechanism_named(body.substr(0, end));
  if (!mechanism) {
    return term_error(term, "unknown mechanism");
  }
  d.mechanism = *mechanism;
  const auto rest = end == std::string_view::npos ? std::string_view{} : body.substr(end);
  mail::Status status = mail::Ok{};
  switch (d.mechanism) {
  case Mechanism::All:
    status = rest.empty() ? status : term_error(term, "\"all\" takes no argument");
    break;
  case Mechanism::Include:
  case Mechanism::Exists:
    status = rest.empty() || rest.front() != ':' ? term_error(term, "missing domain")
                                                 : set_target(d, rest.substr(1), term);
    break;
  case Mechanism::A:
  case Mechanism::Mx:
    status = parse_host_mechanism(d, rest, term);
    break;
  case Mechanism::Ptr:
    status = rest.empty()          ? status
             : rest.front() != ':' ? term_error(term, "\"ptr\" takes no prefix length")
                                   : set_target(d, rest.substr(1), term);
    break;
  case Mechanism::Ip4:
  case Mechanism::Ip6:
    status = parse_ip_mechanism(d, rest, term);
    break;
  }
  if (!status) {
    return status.error();
  }
  return d;
}

mail::Status parse_modifier(Record& record, std::string_view term, std::size_t name_length) {
  const auto name = term.substr(0, name_length);
  const auto value = term.substr(name_length + 1);
  const bool redirect = mail::ascii_iequals(name, "redirect");
  const bool exp = mail::ascii_iequals(name, "exp");
  if (!redirect && !exp) {
    // Unknown modifiers are ignored, but their macro syntax must be right (A/3).
    auto parsed = MacroString::parse(value, MacroUse::Modifier);
    return parsed ? mail::Status(mail::Ok{}) : term_error(term, parsed.error().message);
  }
  auto& slot = redirect ? record.redirect : record.explanation;
  if (slot) {
    return term_error(term, "modifier given twice");
  }
  Directive holder;
  if (auto s = set_target(holder, value, term); !s) {
    return s;
  }
  slot = std::move(holder.target);
  return mail::Ok{};
}

} // namespace

bool is_spf_record(std::string_view text) {
  return text.size() >= version.size() && mail::ascii_iequals(text.substr(0, 6), version) &&
         (text.size() == version.size() || text[version.size()] == ' ');
}

mail::Result<Record> parse_record(std::string_view text) {
  Record record;
  std::size_t i = version.size();
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const auto end = std::min(text.find(' ', i), text.size());
    const auto term = text.substr(i, end - i);
    i = end;
    if (const auto n = modifier_name_length(term); n > 0) {
      if (auto s = parse_modifier(record, term, n); !s) {
        return s.error();
      }
      continue;
    }
    auto directive = parse_directive(term);
    if (!directive) {
      return directive.error();
    }
    record.directives.push_back(std::move(*directive));
  }
  return record;
}

} // namespace backstop::spf
