// etrn_service: ETRN replies 250/251/253, 458, 459 (RFC 1985 section 5).
#include "delivery/etrn_service.hpp"

#include "mail/address.hpp"
#include "mail/replies.hpp"

namespace backstop::delivery {

void EtrnService::set_domains(std::set<std::string> domains) {
  std::lock_guard lock(mutex_);
  domains_ = std::move(domains);
}

bool EtrnService::backed_up(const std::string& domain) const {
  std::lock_guard lock(mutex_);
  return domains_.count(domain) != 0;
}

mail::Reply EtrnService::on_etrn(const std::string& client_ip, const std::string& argument) {
  if (!mail::any_contains(clients_, client_ip)) {
    return mail::replies::etrn_denied;
  }
  std::string node = argument;
  if (!node.empty() && (node.front() == '@' || node.front() == '#')) {
    node.erase(0, 1); // "@domain" asks for subdomains too; we back up exact domains only
  }
  node = mail::normalize_domain(node);
  if (!backed_up(node)) {
    return mail::replies::etrn_unknown_domain.with_text("Unable to queue messages for node " +
                                                        node);
  }
  if (status_ != nullptr) {
    status_->heartbeat(node, client_ip); // only an allowed client's ETRN proves anything
  }
  const std::size_t waiting = scheduler_.waiting(node);
  scheduler_.request_flush(node);
  if (waiting == 0) {
    return {251, "2.0.0", "OK, no messages waiting for node " + node};
  }
  return {253, "2.0.0",
          "OK, " + std::to_string(waiting) + " pending messages for node " + node + " started"};
}

} // namespace backstop::delivery
