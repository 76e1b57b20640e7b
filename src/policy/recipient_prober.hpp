// recipient_prober: asks the primary whether a recipient exists ("callout"): the policy side
// of the question. delivery::CalloutClient answers it with a real SMTP conversation; policy
// never opens a socket. Three answers, never two: a primary that cannot be asked is Unknown.
#pragma once

#include "mail/address.hpp"

#include <asio/awaitable.hpp>
#include <string>

namespace backstop::policy {

enum class ProbeResult { Valid, Invalid, Unknown };

struct ProbeAnswer {
  ProbeResult result = ProbeResult::Unknown;
  int code = 0;      // the primary's RCPT reply code, 0 without one
  std::string reply; // one line: the primary's reply, or why it could not be asked
};

class RecipientProber {
public:
  virtual ~RecipientProber() = default;
  // May be awaited from any event loop; the answer comes back on the caller's loop.
  virtual asio::awaitable<ProbeAnswer> probe(mail::Address recipient) = 0;
};

} // namespace backstop::policy
