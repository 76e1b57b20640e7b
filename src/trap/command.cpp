// command: verbs and path domains for the trap sessions.
#include "trap/command.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace backstop::trap {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view first_word(std::string_view line) {
  const auto end = line.find(' ');
  return end == std::string_view::npos ? line : line.substr(0, end);
}

// "FROM:" or "TO:" (any case) and the spaces around the path.
std::string_view after_colon(std::string_view argument) {
  const auto colon = argument.find(':');
  if (colon == std::string_view::npos) {
    return {};
  }
  argument.remove_prefix(colon + 1);
  while (!argument.empty() && argument.front() == ' ') {
    argument.remove_prefix(1);
  }
  return argument;
}

bool domain_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

} // namespace

Verb verb_of(std::string_view line) {
  static constexpr std::array<std::pair<std::string_view, Verb>, 7> verbs{{
      {"HELO", Verb::Helo},
      {"EHLO", Verb::Ehlo},
      {"MAIL", Verb::Mail},
      {"RCPT", Verb::Rcpt},
      {"RSET", Verb::Rset},
      {"NOOP", Verb::Noop},
      {"QUIT", Verb::Quit},
  }};
  const auto word = first_word(line);
  for (const auto& [name, verb] : verbs) {
    if (iequals(word, name)) {
      return verb;
    }
  }
  return Verb::Other;
}

std::string_view argument_of(std::string_view line) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) {
    return {};
  }
  line.remove_prefix(space);
  while (!line.empty() && line.front() == ' ') {
    line.remove_prefix(1);
  }
  return line;
}

std::string domain_of_path(std::string_view argument) {
  std::string_view path = after_colon(argument);
  if (!path.empty() && path.front() == '<') {
    path.remove_prefix(1);
    path = path.substr(0, path.find('>'));
  } else {
    path = path.substr(0, path.find(' '));
  }
  const auto at = path.rfind('@');
  if (at == std::string_view::npos) {
    return {};
  }
  std::string domain;
  for (char c : path.substr(at + 1)) {
    if (!domain_char(c)) {
      return {};
    }
    domain += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!domain.empty() && domain.back() == '.') {
    domain.pop_back();
  }
  return domain;
}

} // namespace backstop::trap
