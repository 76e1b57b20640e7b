// sender_routing: one scan of the local part.
#include "policy/sender_routing.hpp"

#include "mail/replies.hpp"

#include <string>

namespace backstop::policy {

namespace {

constexpr const char* check_name = "sender_routing";

const char* operator_name(char op) {
  switch (op) {
  case '%':
    return "percent hack";
  case '!':
    return "bang path";
  default:
    return "address in the local part";
  }
}

} // namespace

std::optional<char> routing_operator(std::string_view local) {
  const auto at = local.find_first_of("%!@");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  return local[at];
}

mail::Verdict check_sender_routing(const mail::Address& recipient) {
  const auto op = routing_operator(recipient.local);
  if (!op) {
    return mail::Verdict::accept(check_name);
  }
  const std::string routing = std::string("sender-specified routing (") + operator_name(*op) +
                              ", '" + *op + "' in the local part)";
  const auto& base = mail::replies::sender_routing_denied;
  return mail::Verdict::decide(
      mail::Decision::Reject,
      base.with_text("<" + recipient.to_string() + ">: " + base.text + ": " + routing), check_name,
      routing + " is not relayed to the primary");
}

} // namespace backstop::policy
