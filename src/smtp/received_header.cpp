// received_header: building the Received: trace line.
#include "smtp/received_header.hpp"

#include <ctime>

namespace backstop::smtp {

namespace {
// Keeps what may appear in a domain or address literal; the rest becomes '_'.
std::string sanitize(const std::string& text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    out += ok ? c : '_';
  }
  return out.empty() ? "unknown" : out;
}

std::string protocol_name(const ReceivedFacts& f) {
  std::string p = f.smtputf8 ? "UTF8SMTP" : (f.esmtp ? "ESMTP" : "SMTP");
  if (!f.tls.empty()) {
    p += "S";
  }
  return p;
}
} // namespace

std::string rfc5322_date(std::int64_t unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string received_header(const ReceivedFacts& f) {
  std::string h = "Received: from " + sanitize(f.helo, 255) + " (";
  if (!f.client_name.empty()) {
    h += sanitize(f.client_name, 255) + " ";
  }
  h += "[" + sanitize(f.client_ip, 64) + "])\r\n";
  if (!f.tls.empty()) {
    h += "\t(using " + f.tls + ")\r\n"; // from OpenSSL, not the client
  }
  h += "\tby " + f.by_host + " (backstop) with " + protocol_name(f) + " id " + f.id.to_string();
  if (!f.single_recipient.empty()) {
    h += "\r\n\tfor <" + f.single_recipient + ">";
  }
  h += "; " + rfc5322_date(f.unix_time) + "\r\n";
  return h;
}

} // namespace backstop::smtp
