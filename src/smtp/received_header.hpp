// received_header: the trace header we prepend (RFC 5321 4.4, RFC 3848 protocol names,
// RFC 6531 UTF8SMTP). Client-supplied text is sanitised so it cannot break the header.
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"

#include <cstdint>
#include <string>

namespace backstop::smtp {

struct ReceivedFacts {
  std::string helo;
  std::string client_ip;
  std::string client_name; // reverse DNS, may be empty
  std::string by_host;
  bool esmtp = true;
  std::string tls; // empty when plaintext
  bool smtputf8 = false;
  mail::QueueId id;
  std::string single_recipient; // "for <...>" only when there is exactly one
  std::int64_t unix_time = 0;
};

std::string received_header(const ReceivedFacts& facts);
// RFC 5322 date-time in UTC, "Mon, 23 Nov 2026 06:00:00 +0000".
std::string rfc5322_date(std::int64_t unix_time);

} // namespace backstop::smtp
