// header: the Received-SPF trace header of RFC 7208 9.1, one line without CRLF:
//   Received-SPF: pass (mx.example.org: domain of a@example.com designates 192.0.2.1 as
//     permitted sender) client-ip=192.0.2.1; envelope-from="a@example.com"; helo=...
#pragma once

#include "spf/identity.hpp"
#include "spf/result.hpp"

#include <string>

namespace backstop::spf {

struct HeaderFacts {
  Identity identity = Identity::MailFrom;
  std::string client_ip;
  std::string envelope_from; // the reverse-path, "" for the null sender
  std::string helo;
  std::string receiver; // our host name
  std::string sender;   // <sender> of check_host(): local@domain or postmaster@helo
  std::string comment;  // replaces the standard comment when set (e.g. a trusted hop)
};

std::string received_spf(const Outcome& outcome, const HeaderFacts& facts);

// The standard comment for a result, "<receiver>: domain of <sender> designates ...".
std::string result_comment(const Outcome& outcome, const HeaderFacts& facts);

} // namespace backstop::spf
