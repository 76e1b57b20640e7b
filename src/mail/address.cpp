// address: normalisation and wire form of mailboxes.
#include "mail/address.hpp"

#include <algorithm>

namespace backstop::mail {

std::string normalize_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);
  }
  return ascii_lower(domain);
}

namespace {
char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
} // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = lower_char(c);
  }
  return out;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_char(x) == lower_char(y);
         });
}

bool is_atext(unsigned char c) {
  if (c >= 0x80) {
    return true; // UTF-8 (RFC 6531) is atext
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '/':
  case '=':
  case '?':
  case '^':
  case '_':
  case '`':
  case '{':
  case '|':
  case '}':
  case '~':
    return true;
  default:
    return false;
  }
}

bool local_part_needs_quotes(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') {
    return true;
  }
  char prev = 0;
  for (char c : local) {
    if (c == '.' && prev == '.') {
      return true;
    }
    if (c != '.' && !is_atext(static_cast<unsigned char>(c))) {
      return true;
    }
    prev = c;
  }
  return false;
}

std::string Address::to_string() const {
  if (is_null()) {
    return "";
  }
  std::string out;
  if (local_part_needs_quotes(local)) {
    out += '"';
    for (char c : local) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  } else {
    out += local;
  }
  if (!domain.empty()) {
    out += '@';
    out += domain;
  }
  return out;
}

} // namespace backstop::mail
