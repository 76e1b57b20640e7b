// conversation: what a defer or tarpit trap says, one command line at a time (the defer
// trap of seed 000, the fake least-preferred MX). Plausible replies until the first RCPT,
// so the client names the domain it wants; from that RCPT on, 4xx to everything, QUIT 221.
// It learns the HELO name and the sender's and recipients' domains, and whether a recipient
// is in one of our backed-up domains: the anti-poisoning rule (seed 000, message 12) counts
// a trap hit only then. Pure and small (no allocation kept): a tarpit holds thousands.
#pragma once

#include "trap/fixed_text.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

namespace backstop::trap {

using Domains = std::set<std::string, std::less<>>; // normalised: lower case, no final dot

enum class Answer : std::uint8_t {
  Hello,   // 250 <host>
  Ok,      // 250 2.0.0 Ok
  Defer,   // 451 4.7.1: try again later
  Bye,     // 221, then close
  TooMany, // 421: the command limit, then close
};

inline bool closes(Answer a) { return a == Answer::Bye || a == Answer::TooMany; }

class Conversation {
public:
  explicit Conversation(std::uint16_t max_commands = 20) : max_commands_(max_commands) {}

  // The answer to one command line (without its CR LF).
  Answer on_line(std::string_view line, const Domains& ours);

  std::string_view helo() const { return helo_.view(); }
  std::string_view sender_domain() const { return sender_domain_.view(); }
  // The first recipient domain of ours, else the first one named.
  std::string_view recipient_domain() const { return recipient_domain_.view(); }
  bool rcpt_seen() const { return rcpt_seen_; }
  bool named_ours() const { return named_ours_; }
  std::uint16_t commands() const { return commands_; }

private:
  void on_recipient(std::string_view argument, const Domains& ours);

  FixedText<64> helo_;
  FixedText<64> sender_domain_;
  FixedText<64> recipient_domain_;
  std::uint16_t max_commands_;
  std::uint16_t commands_ = 0;
  bool rcpt_seen_ = false;
  bool named_ours_ = false;
};

// The reply texts of one trap listener, built once and shared by its connections.
class Replies {
public:
  explicit Replies(const std::string& hostname);
  std::string_view banner() const { return banner_; }
  std::string_view text(Answer answer) const;
  std::string_view deadline() const { return deadline_; } // 421 at the session deadline
  std::string_view busy() const { return busy_; }         // 421: too many connections

private:
  std::string banner_, hello_, ok_, defer_, bye_, too_many_, deadline_, busy_;
};

} // namespace backstop::trap
