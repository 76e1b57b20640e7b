// envelope: what the queue keeps beside the message bytes: the SMTP transaction's sender,
// recipients and their ESMTP parameters (RFC 1870, 6152, 6531, 3461) plus the facts about
// the client that the Received header and later policy need.
#pragma once

#include "mail/address.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace backstop::mail {

enum class BodyType : std::uint8_t { SevenBit = 0, EightBitMime = 1, BinaryMime = 2 };
enum class DsnRet : std::uint8_t { Unset = 0, Full = 1, Headers = 2 };

// RFC 3461 NOTIFY: Never excludes the others; none set means "not given" (default rules).
enum NotifyFlags : std::uint8_t {
  NotifyNone = 0,
  NotifySuccess = 1,
  NotifyFailure = 2,
  NotifyDelay = 4,
  NotifyNever = 8,
};

struct Recipient {
  Address address;
  std::uint8_t notify = NotifyNone;
  std::string orcpt; // RFC 3461 ORCPT, decoded "addr-type;xtext" kept as received
};

struct Envelope {
  Address sender; // null address for MAIL FROM:<>
  std::vector<Recipient> recipients;
  std::uint64_t declared_size = 0; // SIZE= (0 when not given)
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::Unset;
  std::string envid;       // RFC 3461 ENVID, xtext-decoded
  std::string client_ip;   // textual, without brackets
  std::string client_name; // reverse DNS name when known, else empty
  std::string helo;
  std::string tls;               // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", empty for plaintext
  std::int64_t arrival_unix = 0; // seconds since the epoch
  // The sender was verified (SPF pass, callout) when the message was accepted: whether
  // bounce = "verified-sender" may send it a notice. Old records without it: not verified.
  bool sender_verified = false;
};

} // namespace backstop::mail
