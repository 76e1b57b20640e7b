// command_parser: frames SMTP command lines and splits them into verb and argument.
// Pure functions over bytes: no sockets, no policy. A line is complete only at CRLF; a bare
// LF is reported, never taken as a line end (RFC 5321 2.3.8).
#pragma once

#include <cstddef>
#include <string_view>

namespace backstop::smtp {

enum class Verb {
  Ehlo,
  Helo,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Noop,
  Quit,
  Vrfy,
  Expn,
  Help,
  StartTls,
  Etrn,
  Auth,
  Unknown
};

enum class LineStatus {
  Complete,       // a line ending in CRLF; length includes the CRLF
  NeedMore,       // no CRLF yet and the buffer is below the limit
  TooLong,        // no CRLF within max_line octets; length = octets to discard (see below)
  BareLineEnding, // a LF not preceded by CR (or a CR not followed by LF) ends the line; length
                  // includes that LF, so the caller can reply 500 and go on after it
};

struct LineScan {
  LineStatus status = LineStatus::NeedMore;
  std::size_t length = 0;
};

// Looks for the first command line in buffer. max_line counts the CRLF (RFC 5321 4.5.3.1.4:
// 512). For TooLong, length is the whole buffer when no line end is in it yet (the caller
// discards and keeps discarding up to the next LF), or up to and including that LF.
LineScan find_command_line(std::string_view buffer, std::size_t max_line);

struct Command {
  Verb verb = Verb::Unknown;
  std::string_view argument; // text after the verb and its separating space(s); no CRLF
};

// line excludes the CRLF. Verbs are case-insensitive; "MAIL FROM:" and "RCPT TO:" keep
// everything after the verb in argument ("FROM:<a@b> SIZE=10").
Command parse_command(std::string_view line);

} // namespace backstop::smtp
