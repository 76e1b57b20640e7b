// etrn_service: answers ETRN (RFC 1985) for the SMTP sessions: only configured clients
// (usually the primary) may ask; the node must be a backed-up domain; the flush itself is
// posted to the scheduler, so the session's loop never waits for delivery.
#pragma once

#include "delivery/scheduler.hpp"
#include "mail/cidr.hpp"
#include "policy/primary_status.hpp"
#include "smtp/session_options.hpp"

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace backstop::delivery {

class EtrnService final : public smtp::EtrnHandler {
public:
  // status: told of each allowed ETRN, the heartbeat of the domain's primary (may be null).
  EtrnService(Scheduler& scheduler, std::vector<mail::Cidr> clients, std::set<std::string> domains,
              policy::PrimaryStatus* status = nullptr)
      : scheduler_(scheduler), clients_(std::move(clients)), domains_(std::move(domains)),
        status_(status) {}

  mail::Reply on_etrn(const std::string& client_ip, const std::string& argument) override;
  // After a reload: sessions on any loop may be asking meanwhile.
  void set_domains(std::set<std::string> domains);

private:
  bool backed_up(const std::string& domain) const;

  Scheduler& scheduler_;
  std::vector<mail::Cidr> clients_;
  mutable std::mutex mutex_;
  std::set<std::string> domains_;
  policy::PrimaryStatus* status_;
};

} // namespace backstop::delivery
