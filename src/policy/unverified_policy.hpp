// unverified_policy: what "cannot tell" means for a recipient ([verify] unverified and the
// per-domain unverified): the primary cannot be asked and nothing else knows the address.
#pragma once

namespace backstop::policy {

enum class UnverifiedPolicy {
  Accept,         // 250: the backup MX stands in; a later refusal means a bounce
  Defer,          // 450 4.1.1: the sender keeps the message until the primary can tell
  VerifiedSender, // accept only when the sender is verified (SPF pass, callout), else defer
};

} // namespace backstop::policy
