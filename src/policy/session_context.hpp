// session_context: what the pipeline knows about one SMTP session so far, shared by every
// check. The session sets the protocol facts (client, HELO, sender, the recipient being
// asked); the pipeline records what checks learnt (facts, scores, verdicts, headers).
// Checks read it and never write it: a check's only output is its Verdict.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"
#include "policy/stage.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::policy {

// Well-known fact keys; a check may record others under its own name ("<check>.<what>").
// A fact learnt from MAIL on belongs to the transaction, unless its key starts "session.".
namespace facts {
inline constexpr std::string_view ptr = "ptr";                     // the client's PTR name
inline constexpr std::string_view ptr_confirmed = "ptr_confirmed"; // "yes": resolves back
inline constexpr std::string_view unknown_recipients = "session.unknown_recipients";
inline constexpr std::string_view sender_verified = "sender_verified"; // "spf" | "callout"
} // namespace facts

struct ClientInfo {
  std::string ip;            // textual; an IPv4-mapped IPv6 address is written as IPv4
  asio::ip::address address; // the same, parsed
  std::string listener;      // the local endpoint, "127.0.0.1:25"
  bool tls = false;
  bool early_talker = false; // sent something before the banner
};

struct RecordedVerdict {
  Stage stage;
  std::string check;
  mail::Decision decision;
  std::string reason;
  bool warned = false; // a check in warn mode: would have refused, did not
};

// A refusal before RCPT by a check with per-domain modes: each RCPT applies it with the
// mode of that recipient's domain.
struct HeldVerdict {
  Stage stage;
  std::size_t entry; // which of the pipeline's checks (a session keeps one pipeline)
  mail::Verdict verdict;
};

struct SessionContext {
  std::string session_id;
  asio::any_io_executor executor; // the session's loop: where prefetches run
  ClientInfo client;
  std::string helo;
  mail::Address sender;                  // of the current transaction (after MAIL)
  mail::Address recipient;               // the RCPT being decided
  std::vector<mail::Address> recipients; // accepted so far in this transaction
  bool session_permitted = false;        // an allowlist permitted the client
  bool transaction_permitted = false;    // ... or the sender

  std::map<std::string, std::string, std::less<>> session_facts;
  std::map<std::string, std::string, std::less<>> transaction_facts;
  double session_score = 0;
  double transaction_score = 0;
  std::vector<RecordedVerdict> verdicts;
  std::vector<std::string> headers; // for the accepted message of this transaction
  std::vector<HeldVerdict> held;

  // A transaction fact hides a session fact of the same key; "" when unknown.
  std::string_view fact(std::string_view key) const {
    if (auto it = transaction_facts.find(key); it != transaction_facts.end()) {
      return it->second;
    }
    if (auto it = session_facts.find(key); it != session_facts.end()) {
      return it->second;
    }
    return {};
  }
  double score() const { return session_score + transaction_score; }
  // MAIL, RSET, a new HELO and the end of a message start a new transaction.
  void reset_transaction() {
    sender = {};
    recipient = {};
    recipients.clear();
    transaction_permitted = false;
    transaction_facts.clear();
    transaction_score = 0;
    headers.clear();
    std::erase_if(verdicts, [](const RecordedVerdict& v) { return is_transaction_stage(v.stage); });
    std::erase_if(held, [](const HeldVerdict& h) { return is_transaction_stage(h.stage); });
  }
};

} // namespace backstop::policy
