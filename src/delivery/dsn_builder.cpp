// dsn_builder: RFC 3464 message text.
#include "delivery/dsn_builder.hpp"

#include "smtp/received_header.hpp"

#include <regex>

namespace backstop::delivery {

namespace {

bool has_non_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) {
      return true;
    }
  }
  return false;
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
    text += "<" + r.recipient.address.to_string() + ">: " + r.diagnostic + "\r\n";
  }
  return text;
}

std::string status_part(const DsnInput& in) {
  std::string s = "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
  s += "X-Backstop-Queue-ID: " + in.id.to_string() + "\r\n";
  if (!in.envelope->envid.empty()) {
    s += "Original-Envelope-Id: " + in.envelope->envid + "\r\n";
  }
  s += "Arrival-Date: " + smtp::rfc5322_date(in.envelope->arrival_unix) + "\r\n";
  for (const auto& r : in.recipients) {
    const std::string address = r.recipient.address.to_string();
    s += "\r\nFinal-Recipient: " + std::string(has_non_ascii(address) ? "utf-8; " : "rfc822; ") +
         address + "\r\n";
    if (!r.recipient.orcpt.empty()) {
      s += "Original-Recipient: " + r.recipient.orcpt + "\r\n";
    }
    s += std::string("Action: ") + (in.action == DsnAction::Failed ? "failed" : "delayed") + "\r\n";
    s += "Status: " + r.status + "\r\n";
    if (!r.remote_mta.empty()) {
      s += "Remote-MTA: dns; " + r.remote_mta + "\r\n";
    }
    if (!r.diagnostic.empty() && r.diagnostic[0] >= '2' && r.diagnostic[0] <= '5') {
      s += "Diagnostic-Code: smtp; " + r.diagnostic + "\r\n";
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
  static const std::regex enhanced(R"(^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b)");
  std::smatch m;
  if (std::regex_search(reply, m, enhanced)) {
    return m[1];
  }
  if (code >= 500) {
    return "5.0.0";
  }
  return code >= 400 || code == 0 ? "4.0.0" : "2.0.0";
}

std::string build_dsn(const DsnInput& in) {
  const std::string boundary =
      in.id.to_string() + "/" + std::to_string(in.now_unix) + "/" + in.reporting_mta;
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
       status_part(in) + "\r\n";
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
