// reply_parser: reads SMTP replies as a client (RFC 5321 4.2): one or more lines
// "250-text" ... "250 text", every line with the same code, each ending in CRLF.
// Pure function over bytes, used by delivery and by callouts; a fuzz target calls it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::smtp {

struct ParsedReply {
  int code = 0;
  std::vector<std::string> lines; // text after "NNN-" / "NNN ", without CRLF
  std::string enhanced;           // "5.1.1" when the first line starts with one of its class
  std::string text() const;       // lines joined with "\n"
};

enum class ReplyStatus { Complete, NeedMore, Malformed };

struct ReplyScan {
  ReplyStatus status = ReplyStatus::NeedMore;
  std::size_t consumed = 0; // octets of the complete reply
  ParsedReply reply;
};

// Lines longer than max_line or more than max_lines lines make a reply Malformed, so a
// hostile server cannot make us buffer without end. A bare LF is accepted as a line end
// (servers in the wild send it; we only read their replies).
ReplyScan parse_reply(std::string_view buffer, std::size_t max_line = 4096,
                      std::size_t max_lines = 100);

// The EHLO keywords of a parsed 250 reply (upper-cased first word of lines 2..n, with the
// rest of the line as value): "SIZE 1000" -> {"SIZE", "1000"}.
struct EhloExtensions {
  bool pipelining = false;
  bool starttls = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool chunking = false;
  bool enhanced_status_codes = false;
  std::uint64_t size = 0; // 0 = not announced or no limit given
};
EhloExtensions parse_ehlo_extensions(const ParsedReply& reply);

} // namespace backstop::smtp
