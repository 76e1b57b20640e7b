// dsn_builder: RFC 3464 message text.
#include "delivery/dsn_builder.hpp"

#include "smtp/received_header.hpp"

#include <regex>

namespace backstop::delivery {

namespace {

constexpr std::string_view expired_text = "message expired in the queue";
constexpr std::string_view last_error_label = "; last error: ";
// Cut longer texts: a reply of many long lines, after an address of up to 320 octets, must
// not make a line over 998 (RFC 5322 2.1.1).
constexpr std::size_t max_report_text = 600;
constexpr std::size_t fold_width = 78;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "NNN", "NNN text" or "NNN-text": how an SMTP reply (as the client keeps it) begins.
bool is_smtp_reply(std::string_view text) {
  return text.size() >= 3 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) &&
         (text.size() == 3 || text[3] == ' ' || text[3] == '-');
}

// A peer's text in a report field: a control character (a lone CR could end the field and
// start a forged one) becomes a space, and a run of spaces one, so folding never leaves a
// line of blanks.
std::string report_text(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, max_report_text)) {
    const auto u = static_cast<unsigned char>(c);
    const char kept = u < 0x20 || u == 0x7f ? ' ' : c;
    if (kept != ' ' || out.empty() || out.back() != ' ') {
      out += kept;
    }
  }
  if (text.size() > max_report_text) {
    out += "...";
  }
  return out;
}

// RFC 5322 2.2.3: a long field is folded before a space, so lines stay near 78 octets.
std::string fold(std::string_view line) {
  std::string out;
  while (line.size() > fold_width) {
    auto cut = line.rfind(' ', fold_width);
    if (cut == std::string_view::npos || cut == 0) {
      cut = line.find(' ', fold_width);
    }
    if (cut == std::string_view::npos) {
      break;
    }
    out += line.substr(0, cut);
    out += "\r\n";
    line.remove_prefix(cut); // the space starts the continuation line
  }
  out += line;
  return out;
}

bool is_expired(const std::string& error) { return error.starts_with(expired_text); }

std::string error_before_expiry(const std::string& error) {
  const auto label = error.find(last_error_label);
  return label == std::string::npos ? std::string() : error.substr(label + last_error_label.size());
}

// The reply's own enhanced code when it has class cls ('4', '5'), RFC 3463 2.
std::string enhanced_of_class(const std::string& reply, char cls) {
  static const std::regex enhanced(R"(^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b)");
  std::smatch m;
  if (std::regex_search(reply, m, enhanced) && m[1].str()[0] == cls) {
    return m[1];
  }
  return {};
}

bool has_non_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) {
      return true;
    }
  }
  return false;
}

// One code point from UTF-8 at text[i] (advancing i); a byte that starts no valid
// sequence stands for itself.
std::uint32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  std::uint32_t cp = length == 1 ? lead : lead & (0x3F >> (length - 1));
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
      ++i;
      return lead;
    }
    cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  }
  i += length;
  return cp;
}

// RFC 6533 3, utf-8-addr-xtext: the ASCII form of a UTF-8 address for message/
// delivery-status; every code point outside QCHAR (printable ASCII except plus, equals
// and backslash) is written as backslash, "x{", its hex value, "}".
std::string utf8_addr_xtext(std::string_view address) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < address.size();) {
    const std::uint32_t cp = next_code_point(address, i);
    if (cp > 0x20 && cp < 0x7F && cp != '+' && cp != '=' && cp != '\\') {
      out += static_cast<char>(cp);
      continue;
    }
    std::string digits;
    for (std::uint32_t v = cp; v != 0 || digits.size() < 2; v >>= 4) {
      digits.insert(digits.begin(), hex[v & 0xF]);
    }
    out += "\\x{" + digits + "}";
  }
  return out;
}

// message/delivery-status is ASCII (RFC 6533 6.2 adds the global type for UTF-8): other
// text from peers or senders keeps its ASCII and shows "?" for the rest there.
std::string status_text(std::string text, bool global) {
  if (!global) {
    for (char& c : text) {
      c = static_cast<unsigned char>(c) >= 0x80 ? '?' : c;
    }
  }
  return text;
}

// The notice needs SMTPUTF8 (and the RFC 6533 "global" types) only when the address it goes
// to is non-ASCII; 8-bit content alone travels as 8BITMIME.
bool needs_smtputf8(const DsnInput& in) { return has_non_ascii(in.envelope->sender.to_string()); }

std::string headers_of(const std::string& message) {
  const auto end = message.find("\r\n\r\n");
  return end == std::string::npos ? message : message.substr(0, end + 2);
}

std::string human_part(const DsnInput& in) {
  std::string text;
  if (in.action == DsnAction::Failed) {
    text = "This is the mail system at host " + in.reporting_mta +
           ".\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
           "be delivered to one or more recipients. It's attached below.\r\n\r\n";
  } else {
    text = "This is the mail system at host " + in.reporting_mta +
           ".\r\n\r\n####################################################################\r\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
           "####################################################################\r\n\r\n"
           "Your message could not be delivered yet. The mail system will keep\r\n"
           "trying until " +
           smtp::rfc5322_date(in.retry_until_unix) + ".\r\n\r\n";
  }
  for (const auto& r : in.recipients) {
    const std::string& why = r.explanation.empty() ? r.diagnostic : r.explanation;
    text += "<" + r.recipient.address.to_string() + ">: " + report_text(why) + "\r\n";
  }
  return text;
}

// global: message/global-delivery-status, where UTF-8 stands as it is (RFC 6533 6.2).
std::string status_part(const DsnInput& in, bool global) {
  std::string s = "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
  s += "X-Backstop-Queue-ID: " + in.id.to_string() + "\r\n";
  if (!in.envelope->envid.empty()) {
    s += "Original-Envelope-Id: " + status_text(in.envelope->envid, global) + "\r\n";
  }
  s += "Arrival-Date: " + smtp::rfc5322_date(in.envelope->arrival_unix) + "\r\n";
  for (const auto& r : in.recipients) {
    const std::string address = r.recipient.address.to_string();
    if (!has_non_ascii(address)) {
      s += "\r\nFinal-Recipient: rfc822; " + address + "\r\n";
    } else {
      s += "\r\nFinal-Recipient: utf-8; " + (global ? address : utf8_addr_xtext(address)) + "\r\n";
    }
    if (!r.recipient.orcpt.empty()) {
      s += "Original-Recipient: " + status_text(r.recipient.orcpt, global) + "\r\n";
    }
    s += std::string("Action: ") + (in.action == DsnAction::Failed ? "failed" : "delayed") + "\r\n";
    s += "Status: " + r.status + "\r\n";
    if (!r.remote_mta.empty()) {
      s += "Remote-MTA: dns; " + status_text(report_text(r.remote_mta), global) + "\r\n";
    }
    if (is_smtp_reply(r.diagnostic)) {
      s +=
          fold("Diagnostic-Code: smtp; " + status_text(report_text(r.diagnostic), global)) + "\r\n";
    }
    s += "Last-Attempt-Date: " + smtp::rfc5322_date(in.now_unix) + "\r\n";
    if (in.action == DsnAction::Delayed) {
      s += "Will-Retry-Until: " + smtp::rfc5322_date(in.retry_until_unix) + "\r\n";
    }
  }
  return s;
}

} // namespace

std::string status_from_reply(int code, const std::string& reply) {
  const char cls = code >= 500 ? '5' : code >= 400 || code == 0 ? '4' : '2';
  if (auto own = enhanced_of_class(reply, cls); !own.empty()) {
    return own;
  }
  return std::string(1, cls) + ".0.0";
}

std::string expired_error(const std::string& last_error) {
  std::string text(expired_text);
  if (!last_error.empty()) {
    text += last_error_label;
    text += last_error;
  }
  return text;
}

std::string smtp_reply_in(const std::string& error) {
  if (is_smtp_reply(error)) {
    return error;
  }
  constexpr std::string_view said = " said: ";
  const auto at = error.find(said);
  if (at != std::string::npos && is_smtp_reply(std::string_view(error).substr(at + said.size()))) {
    return error.substr(at + said.size());
  }
  return {};
}

DsnRecipient dsn_recipient(const mail::Recipient& recipient, const queue::RecipientState& state,
                           DsnAction action) {
  const bool expired = is_expired(state.last_error);
  DsnRecipient r;
  r.recipient = recipient;
  r.diagnostic = smtp_reply_in(expired ? error_before_expiry(state.last_error) : state.last_error);
  r.remote_mta = state.remote;
  r.explanation = state.last_error;
  if (action == DsnAction::Failed) {
    r.status = expired ? "5.4.7" : status_from_reply(500, r.diagnostic);
  } else {
    const auto own = enhanced_of_class(r.diagnostic, '4');
    r.status = own.empty() ? "4.4.7" : own;
  }
  return r;
}

std::string build_dsn(const DsnInput& in) {
  std::string boundary =
      in.id.to_string() + "/" + std::to_string(in.now_unix) + "/" + in.reporting_mta;
  while (in.original_message.find(boundary) != std::string::npos) {
    boundary += "="; // the returned message must not end its own part (RFC 2046 5.1.1)
  }
  const bool utf8 = needs_smtputf8(in);
  const bool headers_only = in.envelope->ret == mail::DsnRet::Headers;
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\r\n";
  m += "To: <" + in.envelope->sender.to_string() + ">\r\n";
  m += in.action == DsnAction::Failed ? "Subject: Undelivered Mail Returned to Sender\r\n"
                                      : "Subject: Delayed Mail (still being retried)\r\n";
  m += "Date: " + smtp::rfc5322_date(in.now_unix) + "\r\n";
  m += "Message-ID: <" + in.id.to_string() + "." + std::to_string(in.now_unix) + "@" +
       in.reporting_mta + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary +
       "\"\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Description: Notification\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n\r\n" + human_part(in) + "\r\n";
  m += "--" + boundary + "\r\nContent-Description: Delivery report\r\n";
  m += std::string("Content-Type: ") +
       (utf8 ? "message/global-delivery-status" : "message/delivery-status") + "\r\n\r\n" +
       status_part(in, utf8) + "\r\n";
  m += "--" + boundary + "\r\n";
  if (headers_only) {
    m += std::string("Content-Description: Undelivered Message Headers\r\nContent-Type: ") +
         (utf8 ? "message/global-headers" : "text/rfc822-headers") + "\r\n\r\n" +
         headers_of(in.original_message);
  } else {
    m += std::string("Content-Description: Undelivered Message\r\nContent-Type: ") +
         (utf8 ? "message/global" : "message/rfc822") + "\r\n\r\n" + in.original_message;
  }
  if (m.size() < 2 || m.substr(m.size() - 2) != "\r\n") {
    m += "\r\n";
  }
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

mail::Envelope dsn_envelope(const DsnInput& in, const std::string& client_ip) {
  mail::Envelope e;
  e.recipients.push_back({in.envelope->sender, mail::NotifyNever, {}});
  e.body = mail::BodyType::EightBitMime;
  e.smtputf8 = needs_smtputf8(in);
  e.client_ip = client_ip;
  e.helo = in.reporting_mta;
  e.arrival_unix = in.now_unix;
  return e;
}

} // namespace backstop::delivery
