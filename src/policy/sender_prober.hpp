// sender_prober: "does this address accept mail?" asked of one of the MX hosts of a
// third-party domain (a sender callout, callback verification): the policy side of the
// question. delivery::SenderCallout answers it with EHLO, MAIL FROM:<>, RCPT TO:<address>,
// QUIT; policy never opens a socket. Three answers, never two: an MX that cannot be asked
// (4xx, timeout, DNS trouble, no MX, a rate limit) is CannotTell. It never asks about the
// null sender or a domain we back up.
#pragma once

#include "mail/address.hpp"

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <string>

namespace backstop::policy {

enum class SenderAnswer { Accepts, Refuses, CannotTell };

// What an answer is about: this address, or every address of its domain (the MX refuses
// the null sender or every address; no MX host of the domain could be asked).
enum class AnswerScope { Address, Domain };

struct SenderProbeAnswer {
  SenderAnswer answer = SenderAnswer::CannotTell;
  AnswerScope scope = AnswerScope::Address;
  int code = 0;       // the MX's MAIL or RCPT reply code, 0 without one
  std::string reply;  // one line: the MX's reply as it said it, or why it could not be asked
  bool asked = false; // a connection to an MX host was made (false: limits, DNS, not allowed)
};

// The asker's limits: its deadlines and how hard a third party may be asked.
struct SenderProbeLimits {
  std::chrono::seconds timeout{10};        // the whole callout: DNS, connect, every reply
  std::chrono::seconds connect_timeout{5}; // each TCP connect
  std::chrono::seconds reply_timeout{5};   // the banner and each reply
  std::size_t max_hosts = 2;               // MX addresses tried before "cannot tell"
  std::size_t per_minute_per_domain = 10;  // callouts started per target domain and minute
  std::size_t concurrent_per_domain = 2;   // callouts running at once per target domain
};

class SenderProber {
public:
  virtual ~SenderProber() = default;
  // May be awaited from any event loop; the answer comes back on the caller's loop.
  virtual asio::awaitable<SenderProbeAnswer> probe(mail::Address address,
                                                   SenderProbeLimits limits) = 0;
};

} // namespace backstop::policy
