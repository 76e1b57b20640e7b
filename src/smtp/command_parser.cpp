// command_parser: command line framing (CRLF only) and verb recognition.
#include "smtp/command_parser.hpp"

#include <array>
#include <cstring>

namespace backstop::smtp {

LineScan find_command_line(std::string_view buffer, std::size_t max_line) {
  const std::size_t window = std::min(buffer.size(), max_line);
  for (std::size_t i = 0; i < window; ++i) {
    const char c = buffer[i];
    if (c == '\n') {
      // A LF is a line end only after CR; a bare LF ends the line as an error.
      const bool crlf = i > 0 && buffer[i - 1] == '\r';
      return {crlf ? LineStatus::Complete : LineStatus::BareLineEnding, i + 1};
    }
    if (c == '\r' && i + 1 < buffer.size() && buffer[i + 1] != '\n') {
      const auto lf = buffer.find('\n', i);
      if (lf == std::string_view::npos) {
        return {buffer.size() >= max_line ? LineStatus::TooLong : LineStatus::NeedMore,
                buffer.size() >= max_line ? buffer.size() : 0};
      }
      return {LineStatus::BareLineEnding, lf + 1};
    }
  }
  if (buffer.size() < max_line) {
    return {LineStatus::NeedMore, 0};
  }
  const auto lf = buffer.find('\n', max_line);
  return {LineStatus::TooLong, lf == std::string_view::npos ? buffer.size() : lf + 1};
}

namespace {
struct VerbName {
  const char* name;
  Verb verb;
};
constexpr std::array<VerbName, 15> verbs{{
    {"EHLO", Verb::Ehlo},
    {"HELO", Verb::Helo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"BDAT", Verb::Bdat},
    {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls},
    {"ETRN", Verb::Etrn},
    {"AUTH", Verb::Auth},
}};

bool iequal(std::string_view a, const char* b) {
  if (a.size() != std::strlen(b)) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    if (c != b[i]) {
      return false;
    }
  }
  return true;
}
} // namespace

Command parse_command(std::string_view line) {
  const auto space = line.find(' ');
  std::string_view word = line.substr(0, space);
  Command command;
  for (const auto& v : verbs) {
    if (iequal(word, v.name)) {
      command.verb = v.verb;
      break;
    }
  }
  if (command.verb == Verb::Unknown || space == std::string_view::npos) {
    return command;
  }
  std::string_view rest = line.substr(space);
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) {
    rest.remove_suffix(1);
  }
  command.argument = rest;
  return command;
}

} // namespace backstop::smtp
