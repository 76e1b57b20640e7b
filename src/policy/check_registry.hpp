// check_registry: the checks that exist, by name. A check's own file registers it:
//
//   namespace { const RegisterCheck registration{{"dnsbl", 300, &make_dnsbl}}; }
//
// so adding a check is a new file, its config section, its test and its docs, and no edit
// anywhere else. The registry is filled during static initialisation and read-only after
// (the policy library is linked whole, so no registration is dropped by the linker).
#pragma once

#include "dns/resolver.hpp"
#include "mail/clock.hpp"
#include "mail/peer_hosts.hpp"
#include "metrics/counters.hpp"
#include "policy/check.hpp"
#include "policy/check_settings.hpp"
#include "policy/primary_status.hpp"
#include "policy/sender_prober.hpp"

#include <functional>
#include <memory>
#include <set>
#include <spdlog/logger.h>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::state {
class AsyncGreylistStore;
class AsyncOffenderStore;
class AsyncContactStore;
} // namespace backstop::state

namespace backstop::policy {

// What checks may use that lives longer than one configuration. Built by app; every pointer
// outlives every pipeline made with it.
struct CheckServices {
  dns::Resolver* resolver = nullptr; // may be awaited from any event loop
  const mail::Clock* clock = nullptr;
  std::shared_ptr<spdlog::logger> log;
  metrics::Counters* counters = nullptr;
  std::string hostname;                                   // ours, as in the banner
  std::function<bool(std::string_view)> is_local_name;    // one of our names
  std::function<bool(std::string_view)> is_local_address; // one of our addresses (textual)
  std::set<std::string, std::less<>> backed_up_domains;
  SenderProber* sender_prober = nullptr;          // sender callouts; null: the check cannot run
  state::AsyncGreylistStore* greylist = nullptr;  // greylisting state, awaited from any loop
  state::AsyncOffenderStore* offenders = nullptr; // offenses and the blacklist, from any loop
  const PrimaryStatus* primary_status = nullptr;  // is a domain's primary up (the monitor)
  state::AsyncContactStore* contacts = nullptr;   // which MX hosts each client contacted
  mail::PeerHosts peers; // [peers]: the other backstop hosts (checks/peers.cpp, SPF trust)
};

// Reads settings (reporting errors there) and builds the check. services is null when the
// configuration is only being validated; then the result is ignored. Returns null for a
// check that its settings switch off.
using CheckFactory = std::unique_ptr<Check> (*)(Settings& settings, const CheckServices* services);

struct CheckType {
  std::string_view name; // its section: [checks.<name>]
  int order;             // default position in each stage: lower runs first
  CheckFactory make;
};

const std::vector<CheckType>& registered_checks();
const CheckType* find_check_type(std::string_view name);

struct RegisterCheck {
  explicit RegisterCheck(CheckType type);
};

} // namespace backstop::policy
