// header: Received-SPF (RFC 7208 9.1) with RFC 5322 comment and quoted-string escaping, so
// that text from the client (HELO, MAIL FROM) or a DNS record can never end the header.
#include "spf/header.hpp"

#include "mail/address.hpp"

namespace backstop::spf {

namespace {

// Control characters (CR, LF, TAB, DEL...) become '?': a header must stay one line.
char printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f ? '?' : c;
}

// Every part has a budget of octets, counted after escaping, so that the whole line stays
// under RFC 5322's 998 octets whatever the client sent.
constexpr std::size_t comment_budget = 300;
constexpr std::size_t value_budget = 70;

// Appends c (escaped when escape is set) unless that would pass budget; false then.
bool append(std::string& out, char c, bool escape, std::size_t budget) {
  if (out.size() + (escape ? 2 : 1) > budget) {
    return false;
  }
  if (escape) {
    out += '\\';
  }
  out += printable(c);
  return true;
}

std::string comment_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!append(out, c, c == '(' || c == ')' || c == '\\', comment_budget)) {
      break;
    }
  }
  return out;
}

// dot-atom = 1*atext *("." 1*atext)
bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.size() > value_budget || text.front() == '.' || text.back() == '.' ||
      text.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : text) {
    if (c != '.' &&
        (!mail::is_atext(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80)) {
      return false;
    }
  }
  return true;
}

std::string value_text(std::string_view text) {
  if (is_dot_atom(text)) {
    return std::string(text);
  }
  std::string out;
  for (char c : text) {
    if (!append(out, c, c == '"' || c == '\\', value_budget - 2)) {
      break;
    }
  }
  return "\"" + out + "\"";
}

void add_pair(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  out += value_text(value);
  out += ';';
}

} // namespace

std::string result_comment(const Outcome& outcome, const HeaderFacts& facts) {
  const std::string who = facts.receiver + ": ";
  const std::string& sender = facts.sender;
  const std::string& ip = facts.client_ip;
  switch (outcome.result) {
  case Result::Pass:
    return who + "domain of " + sender + " designates " + ip + " as permitted sender";
  case Result::Fail:
    return who + "domain of " + sender + " does not designate " + ip + " as permitted sender";
  case Result::SoftFail:
    return who + "domain of transitioning " + sender + " does not designate " + ip +
           " as permitted sender";
  case Result::Neutral:
    return who + ip + " is neither permitted nor denied by domain of " + sender;
  case Result::None:
    return who + "domain of " + sender + " does not designate permitted sender hosts";
  case Result::TempError:
    return who + "error in processing during lookup of " + sender;
  case Result::PermError:
    return who + "permanent error in processing domain of " + sender;
  }
  return who;
}

std::string received_spf(const Outcome& outcome, const HeaderFacts& facts) {
  std::string out = "Received-SPF: ";
  out += result_name(outcome.result);
  out += " (";
  out += comment_text(facts.comment.empty() ? result_comment(outcome, facts) : facts.comment);
  out += ")";
  add_pair(out, "client-ip", facts.client_ip);
  add_pair(out, "envelope-from", facts.envelope_from);
  add_pair(out, "helo", facts.helo);
  add_pair(out, "receiver", facts.receiver);
  add_pair(out, "identity", identity_name(facts.identity));
  if (!outcome.mechanism.empty()) {
    add_pair(out, "mechanism", outcome.mechanism);
  }
  if (outcome.result == Result::PermError || outcome.result == Result::TempError) {
    add_pair(out, "problem", outcome.reason);
  }
  out.pop_back(); // the last ';' (key-value-list allows it, but mail readers prefer none)
  return out;
}

} // namespace backstop::spf
