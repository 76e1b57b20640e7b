// ingest_parsers: hand-written scanners, no regular expressions: a log can be huge, and a
// truncated or hostile line must cost no more than its length.
#include "app/ingest_parsers.hpp"

#include "mail/ip_address.hpp"

#include <array>
#include <asio/ip/address.hpp>
#include <cctype>
#include <ctime>

namespace backstop::app {

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool valid_clock(const std::tm& tm) {
  return tm.tm_mon >= 0 && tm.tm_mon < 12 && tm.tm_mday >= 1 && tm.tm_mday <= 31 &&
         tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

// "YYYY-MM-DD?HH:MM:SS" at the start of s, sep being 'T' or ' '.
bool date_time(std::string_view s, char sep, std::tm& tm) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != sep || s[13] != ':' || s[16] != ':' ||
      !digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, se)) {
    return false;
  }
  tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return valid_clock(tm);
}

std::int64_t local_unix(std::tm tm) {
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm));
}

std::size_t skip_fraction(std::string_view s, std::size_t i) {
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
    }
  }
  return i;
}

// A zone "+HH:MM", "+HHMM" or "Z" at i: its offset in seconds; i moves past it.
bool zone(std::string_view s, std::size_t& i, std::int64_t& offset) {
  if (i < s.size() && s[i] == 'Z') {
    ++i;
    offset = 0;
    return true;
  }
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) {
    return false;
  }
  const int sign = s[i] == '-' ? -1 : 1;
  int h = 0, m = 0;
  std::size_t j = i + 1;
  if (!digits(s, j, 2, h)) {
    return false;
  }
  j += 2;
  if (j < s.size() && s[j] == ':') {
    ++j;
  }
  if (!digits(s, j, 2, m)) {
    return false;
  }
  i = j + 2;
  offset = sign * (h * 3600 + m * 60);
  return true;
}

// RFC 3339 at the start: "2026-12-01T18:00:00.123456+01:00". end: just past it.
std::optional<std::int64_t> rfc3339(std::string_view s, std::size_t& end) {
  std::tm tm{};
  if (!date_time(s, 'T', tm)) {
    return std::nullopt;
  }
  std::size_t i = skip_fraction(s, 19);
  std::int64_t offset = 0;
  if (!zone(s, i, offset)) {
    return std::nullopt;
  }
  end = i;
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

// "Dec  1 18:00:00" (local time, no year): the year that puts it at most a day after now.
std::optional<std::int64_t> syslog_time(std::string_view s, std::int64_t now) {
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_mon = -1;
  for (std::size_t m = 0; m < months.size(); ++m) {
    if (s.substr(0, 3) == months[m]) {
      tm.tm_mon = static_cast<int>(m);
    }
  }
  const std::string_view day = s[4] == ' ' ? s.substr(5, 1) : s.substr(4, 2);
  int d = 0;
  if (tm.tm_mon < 0 || !digits(day, 0, day.size(), d) || !digits(s, 7, 2, tm.tm_hour) ||
      !digits(s, 10, 2, tm.tm_min) || !digits(s, 13, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  tm.tm_mday = d;
  if (!valid_clock(tm)) {
    return std::nullopt;
  }
  const std::time_t now_t = static_cast<std::time_t>(now);
  std::tm today{};
  localtime_r(&now_t, &today);
  tm.tm_year = today.tm_year;
  std::int64_t at = local_unix(tm);
  if (at > now + 86400) { // "Dec 31" read on Jan 1
    --tm.tm_year;
    at = local_unix(tm);
  }
  return at;
}

std::string_view next_token(std::string_view s, std::size_t& i) {
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  const std::size_t start = i;
  while (i < s.size() && s[i] != ' ') {
    ++i;
  }
  return s.substr(start, i - start);
}

std::optional<std::string> client_address(std::string_view text) {
  std::error_code ec;
  const auto parsed = asio::ip::make_address(std::string(text), ec);
  if (ec) {
    return std::nullopt;
  }
  return mail::unmapped(parsed).to_string();
}

// The first "[...]" at parenthesis depth 0 from i on: Exim writes "name (helo) [ADDR]", and
// a HELO of "[192.0.2.1]" inside the parentheses is the client's claim, not its address.
std::optional<std::string_view> first_bracket(std::string_view s, std::size_t i) {
  int depth = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')' && depth > 0) {
      --depth;
    } else if (s[i] == '[' && depth == 0) {
      const std::size_t close = s.find(']', i + 1);
      if (close == std::string_view::npos) {
        return std::nullopt;
      }
      return s.substr(i + 1, close - i - 1);
    }
  }
  return std::nullopt;
}

LogLine contact_at(std::optional<std::string_view> bracket, std::int64_t at) {
  LogLine out;
  if (!bracket) {
    out.kind = LineKind::Malformed;
    return out;
  }
  auto address = client_address(*bracket);
  if (!address) {
    out.kind = LineKind::Malformed;
    return out;
  }
  out.kind = LineKind::Contact;
  out.address = std::move(*address);
  out.at = at;
  return out;
}

bool ends_with_program(std::string_view tag, std::string_view program) {
  const std::size_t bracket = tag.find('[');
  std::string_view name = tag.substr(0, bracket == std::string_view::npos ? tag.size() : bracket);
  if (!name.empty() && name.back() == ':') {
    name.remove_suffix(1);
  }
  return name.size() > program.size() && name.ends_with(program) &&
         name[name.size() - program.size() - 1] == '/';
}

// An Exim message id: "1FdnXi-0006bg-Jb" (4.96 and before) or "1qwert-000AbC-0abc" (4.97).
bool exim_message_id(std::string_view t) {
  const std::size_t a = t.find('-');
  const std::size_t b = a == std::string_view::npos ? a : t.find('-', a + 1);
  if (a != 6 || b == std::string_view::npos || b - a - 1 < 6 || b - a - 1 > 11 ||
      t.size() - b - 1 < 2 || t.size() - b - 1 > 4) {
    return false;
  }
  for (char c : t) {
    if (c != '-' && std::isalnum(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

} // namespace

LogLine parse_postfix_line(std::string_view line, std::int64_t now) {
  LogLine out;
  std::size_t i = 0;
  std::optional<std::int64_t> at;
  if (line.size() > 4 && line[4] == '-') {
    at = rfc3339(line, i);
  } else {
    at = syslog_time(line, now);
    i = 15;
  }
  if (!at) {
    out.kind = LineKind::Malformed;
    return out;
  }
  const std::string_view host = next_token(line, i);
  const std::string_view tag = next_token(line, i);
  if (host.empty() || tag.empty() || tag.back() != ':') {
    out.kind = LineKind::Malformed;
    return out;
  }
  const std::string_view message = line.substr(std::min(i + 1, line.size()));
  if (ends_with_program(tag, "smtpd") && message.starts_with("connect from ")) {
    const std::size_t open = message.rfind('[');
    const std::size_t close = message.rfind(']');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
      out = contact_at(std::nullopt, 0);
    } else {
      out = contact_at(message.substr(open + 1, close - open - 1), *at);
    }
  } else if (ends_with_program(tag, "postscreen") && message.starts_with("CONNECT from ")) {
    out = contact_at(first_bracket(message, 13), *at);
  } else {
    out.kind = LineKind::Other;
  }
  out.log_host = std::string(host);
  return out;
}

LogLine parse_exim_line(std::string_view line) {
  LogLine out;
  std::tm tm{};
  if (!date_time(line, ' ', tm)) {
    out.kind = LineKind::Malformed;
    return out;
  }
  std::size_t i = skip_fraction(line, 19);
  std::int64_t at = local_unix(tm);
  if (i + 1 < line.size() && line[i] == ' ' && (line[i + 1] == '+' || line[i + 1] == '-')) {
    std::size_t j = i + 1;
    std::int64_t offset = 0;
    if (zone(line, j, offset)) { // log_timezone: the stamp says its own offset
      at = static_cast<std::int64_t>(timegm(&tm)) - offset;
      i = j;
    }
  }
  std::size_t after = i;
  std::string_view token = next_token(line, after);
  if (token.starts_with('[') && token.ends_with(']')) { // +pid: "[1234]"
    i = after;
    token = next_token(line, after);
  }
  if (exim_message_id(token)) {
    const std::string_view flag = next_token(line, after);
    if (flag != "<=") {
      return out; // a delivery, a deferral, a queue event: the next hop, not a client
    }
    if (const std::size_t h = line.find(" H=", after); h != std::string_view::npos) {
      return contact_at(first_bracket(line, h + 3), at);
    }
    const std::size_t p = line.find(" P=", after);
    const std::string_view protocol = p == std::string_view::npos ? "" : line.substr(p + 3);
    if (protocol.starts_with("smtp") || protocol.starts_with("esmtp")) { // "[ADDR] P=esmtp"
      return contact_at(first_bracket(line.substr(0, p), after), at);
    }
    return out; // a local submission (P=local, U=user)
  }
  const std::string_view rest = line.substr(std::min(i + 1, line.size()));
  if (rest.starts_with("H=")) {
    return contact_at(first_bracket(rest, 2), at);
  }
  if (const std::size_t h = rest.find(" H="); h != std::string_view::npos) {
    return contact_at(first_bracket(rest, h + 3), at);
  }
  for (std::string_view marker : {"SMTP connection from ", "connection from ", "command from ",
                                  "rejected EHLO from ", "rejected HELO from "}) {
    if (const std::size_t f = rest.find(marker); f != std::string_view::npos) {
      return contact_at(first_bracket(rest, f + marker.size()), at);
    }
  }
  return out;
}

LogLine parse_log_line(LogFormat format, std::string_view line, std::int64_t now) {
  return format == LogFormat::Postfix ? parse_postfix_line(line, now) : parse_exim_line(line);
}

std::optional<LogFormat> log_format_from(std::string_view name) {
  if (name == "postfix") {
    return LogFormat::Postfix;
  }
  if (name == "exim") {
    return LogFormat::Exim;
  }
  return std::nullopt;
}

const char* to_string(LogFormat format) {
  return format == LogFormat::Postfix ? "postfix" : "exim";
}

} // namespace backstop::app
