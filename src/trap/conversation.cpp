// conversation: the defer trap's replies and what it learns.
#include "trap/conversation.hpp"

#include "trap/command.hpp"

namespace backstop::trap {

Answer Conversation::on_line(std::string_view line, const Domains& ours) {
  if (++commands_ > max_commands_) {
    return Answer::TooMany;
  }
  const Verb verb = verb_of(line);
  if (verb == Verb::Quit) {
    return Answer::Bye;
  }
  if (verb == Verb::Rcpt) {
    on_recipient(argument_of(line), ours);
    return Answer::Defer;
  }
  if (rcpt_seen_) {
    return Answer::Defer; // from the first RCPT on, nothing but 4xx
  }
  switch (verb) {
  case Verb::Helo:
  case Verb::Ehlo:
    helo_.assign(argument_of(line).substr(0, argument_of(line).find(' ')));
    return Answer::Hello;
  case Verb::Mail:
    sender_domain_.assign(domain_of_path(argument_of(line)));
    return Answer::Ok;
  case Verb::Rset:
  case Verb::Noop:
    return Answer::Ok;
  default:
    return Answer::Defer; // DATA before RCPT, VRFY, junk: 4xx, never 5xx
  }
}

void Conversation::on_recipient(std::string_view argument, const Domains& ours) {
  const std::string domain = domain_of_path(argument);
  const bool is_ours = !domain.empty() && ours.find(domain) != ours.end();
  if (!rcpt_seen_ || (is_ours && !named_ours_)) {
    recipient_domain_.assign(domain);
  }
  rcpt_seen_ = true;
  named_ours_ = named_ours_ || is_ours;
}

Replies::Replies(const std::string& hostname)
    : banner_("220 " + hostname + " ESMTP\r\n"), hello_("250 " + hostname + "\r\n"),
      ok_("250 2.0.0 Ok\r\n"),
      defer_("451 4.7.1 Service temporarily unavailable, try again later\r\n"),
      bye_("221 2.0.0 " + hostname + " closing connection\r\n"),
      too_many_("421 4.7.0 " + hostname + " too many commands, closing connection\r\n"),
      deadline_("421 4.4.2 " + hostname + " timeout, closing connection\r\n"),
      busy_("421 4.7.0 " + hostname + " too many connections, try again later\r\n") {}

std::string_view Replies::text(Answer answer) const {
  switch (answer) {
  case Answer::Hello:
    return hello_;
  case Answer::Ok:
    return ok_;
  case Answer::Defer:
    return defer_;
  case Answer::Bye:
    return bye_;
  case Answer::TooMany:
    break;
  }
  return too_many_;
}

} // namespace backstop::trap
