// pipeline: the policy checks a session asks at each SMTP stage, in order; the first verdict
// that is not Accept wins. Checks see facts about the connection, never a socket. Checks
// that need the network (DNS, callouts) are awaited; the session's loop keeps serving
// other sessions meanwhile. Later checks (DNSBL, SPF, greylisting) are added here.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"
#include "metrics/counters.hpp"
#include "policy/destinations.hpp"
#include "policy/recipient_verifier.hpp"
#include "policy/relay_domains.hpp"
#include "policy/sender_domain.hpp"
#include "policy/sender_routing.hpp"

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace backstop::policy {

struct ConnectionFacts {
  std::string client_ip;
  std::string helo;
  bool tls = false;
  std::size_t unknown_recipients = 0; // this session's RCPTs refused as unknown users
  // Set by the last MAIL when DNS could not check its sender domain and some backed-up
  // domain accepts such mail: why, for each RCPT to decide by its own domain.
  std::string sender_domain_trouble{};
};

struct RcptQuery {
  ConnectionFacts& connection;
  const mail::Address& sender;
  const mail::Address& recipient;
};

// Slowing, then dropping, a client that tries many unknown recipients (dictionary attack).
struct DictionaryGuard {
  std::size_t max_unknown_recipients = 5; // the one that reaches it gets 421 and the close
  std::chrono::milliseconds delay{1000};  // times (count - 1) before each further refusal
  std::chrono::milliseconds max_delay{10000};
};

struct PipelineParts {
  RelayDomains relay_domains;
  std::shared_ptr<const RecipientVerifier> verifier{};      // null: no recipient verification
  std::shared_ptr<const SenderDomainCheck> sender_domain{}; // null: MAIL FROM not checked
  DictionaryGuard guard{};
  const Destinations* destinations = nullptr; // null: every backed-up domain is routable
  bool reject_sender_routing = true;          // [smtp] reject_sender_routing
  SenderDnsTrouble sender_dns_trouble{};
  std::shared_ptr<spdlog::logger> log{}; // null: mail taken unchecked is not logged
  metrics::Counters* counters = nullptr; // null: nothing counted
};

class Pipeline {
public:
  explicit Pipeline(RelayDomains relay_domains)
      : parts_{.relay_domains = std::move(relay_domains)} {}
  explicit Pipeline(PipelineParts parts) : parts_(std::move(parts)) {}

  // Resets and may set connection.sender_domain_trouble for the RCPTs that follow.
  asio::awaitable<mail::Verdict> check_mail(ConnectionFacts& connection,
                                            const mail::Address& sender) const;
  asio::awaitable<mail::Verdict> check_rcpt(RcptQuery query) const;
  const RelayDomains& relay_domains() const { return parts_.relay_domains; }

private:
  std::optional<mail::Verdict> nowhere_to_deliver(const mail::Address& recipient) const;
  mail::Verdict guard_unknown(ConnectionFacts& connection, mail::Verdict verdict) const;
  mail::Verdict check_recipient_domain(const RcptQuery& query) const;

  PipelineParts parts_;
};

} // namespace backstop::policy
