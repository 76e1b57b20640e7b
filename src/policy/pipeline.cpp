// pipeline: runs the RCPT-stage checks in order.
#include "policy/pipeline.hpp"

namespace backstop::policy {

mail::Verdict Pipeline::check_rcpt(const RcptQuery& query) const {
  return relay_domains_.check(query.recipient);
}

} // namespace backstop::policy
