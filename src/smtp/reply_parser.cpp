// reply_parser: client-side SMTP reply framing.
#include "smtp/reply_parser.hpp"

#include <charconv>
#include <cstdint>

namespace backstop::smtp {

std::string ParsedReply::text() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += '\n';
    }
    out += lines[i];
  }
  return out;
}

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// "5.1.1 " at the start of text (RFC 3463 class.subject.detail).
std::string leading_enhanced_code(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return {};
  }
  std::size_t i = 2;
  auto digits = [&](std::size_t max) {
    std::size_t start = i;
    while (i < text.size() && digit(text[i]) && i - start < max) {
      ++i;
    }
    return i > start;
  };
  if (!digits(3) || i >= text.size() || text[i] != '.') {
    return {};
  }
  ++i;
  if (!digits(3) || (i < text.size() && text[i] != ' ')) {
    return {};
  }
  return std::string(text.substr(0, i));
}

} // namespace

ReplyScan parse_reply(std::string_view buffer, std::size_t max_line, std::size_t max_lines) {
  ReplyScan scan;
  std::size_t pos = 0;
  for (;;) {
    const auto lf = buffer.find('\n', pos);
    if (lf == std::string_view::npos) {
      scan.status = buffer.size() - pos > max_line ? ReplyStatus::Malformed : ReplyStatus::NeedMore;
      return scan;
    }
    std::string_view line = buffer.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.size() > max_line || line.size() < 3 || !digit(line[0]) || !digit(line[1]) ||
        !digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      scan.status = ReplyStatus::Malformed;
      return scan;
    }
    int code = 0;
    std::from_chars(line.data(), line.data() + 3, code);
    if (scan.reply.lines.empty()) {
      scan.reply.code = code;
    } else if (code != scan.reply.code) {
      scan.status = ReplyStatus::Malformed;
      return scan;
    }
    scan.reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    pos = lf + 1;
    const bool last = line.size() == 3 || line[3] == ' ';
    if (last) {
      scan.status = ReplyStatus::Complete;
      scan.consumed = pos;
      scan.reply.enhanced = leading_enhanced_code(scan.reply.lines.front());
      if (!scan.reply.enhanced.empty() && scan.reply.enhanced[0] != line[0]) {
        scan.reply.enhanced.clear(); // RFC 3463 2: its class repeats the reply's
      }
      return scan;
    }
    if (scan.reply.lines.size() >= max_lines) {
      scan.status = ReplyStatus::Malformed;
      return scan;
    }
  }
}

EhloExtensions parse_ehlo_extensions(const ParsedReply& reply) {
  EhloExtensions ext;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    const auto space = line.find(' ');
    std::string keyword(line.substr(0, space));
    for (char& c : keyword) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string_view value = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (keyword == "PIPELINING") {
      ext.pipelining = true;
    } else if (keyword == "STARTTLS") {
      ext.starttls = true;
    } else if (keyword == "8BITMIME") {
      ext.eightbitmime = true;
    } else if (keyword == "SMTPUTF8") {
      ext.smtputf8 = true;
    } else if (keyword == "DSN") {
      ext.dsn = true;
    } else if (keyword == "CHUNKING") {
      ext.chunking = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      ext.enhanced_status_codes = true;
    } else if (keyword == "SIZE") {
      std::from_chars(value.data(), value.data() + value.size(), ext.size);
    }
  }
  return ext;
}

} // namespace backstop::smtp
