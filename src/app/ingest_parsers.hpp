// ingest_parsers: one line of a primary MX's mail log to the client contact it shows, as
// pure functions (`backstop ingest` feeds them; unit tests and fuzzing call them directly).
// Postfix: "connect from NAME[ADDR]" of smtpd and "CONNECT from [ADDR]:PORT" of postscreen,
// after a traditional syslog timestamp (local time, the year guessed from now) or an
// RFC 3339 one. Exim: main log lines of incoming SMTP: "SMTP connection from ... [ADDR]",
// a received message ("<=" with H=), and rejections, warnings and timeouts naming the client
// with H= or "from ... [ADDR]"; deliveries (=>, ->, **, ==) name the next hop, not a client,
// and are not contacts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backstop::app {

enum class LogFormat { Postfix, Exim };

enum class LineKind {
  Contact,   // a client's connection, with its time
  Other,     // a readable log line that shows no new contact
  Malformed, // no timestamp, or a contact line cut short or with an unreadable address
};

struct LogLine {
  LineKind kind = LineKind::Other;
  std::string address;  // the client, textual and unmapped
  std::int64_t at = 0;  // unix seconds
  std::string log_host; // Postfix: the syslog host field ("" for Exim)
};

// now: unix seconds, to give a traditional syslog timestamp its year.
LogLine parse_postfix_line(std::string_view line, std::int64_t now);
LogLine parse_exim_line(std::string_view line);
LogLine parse_log_line(LogFormat format, std::string_view line, std::int64_t now);

std::optional<LogFormat> log_format_from(std::string_view name);
const char* to_string(LogFormat format);

} // namespace backstop::app
