// verification: turns the [verify], [dns] and [[domain]] options into the parts that
// deliveries and recipient verification share (resolver options, routes, TLS rules), the
// verification parts (lists, per-domain rules, cache and callout options), and builds the
// policy pipeline from them. Shared by `serve` (start and SIGHUP), `verify` and
// `check-config`.
#pragma once

#include "app/config.hpp"
#include "delivery/callout_client.hpp"
#include "delivery/dns_router.hpp"
#include "mail/result.hpp"
#include "policy/check_registry.hpp"
#include "policy/destinations.hpp"
#include "policy/pipeline.hpp"
#include "policy/recipient_list.hpp"
#include "policy/recipient_prober.hpp"
#include "policy/sender_domain.hpp"
#include "policy/verify_cache.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>

namespace backstop::app {

using RecipientLists = std::map<std::string, std::shared_ptr<const policy::RecipientList>>;

// Reads every domain's recipients file; the error names the domain and the line.
mail::Result<RecipientLists> load_recipient_lists(const Config& config);

mail::Address parse_mailbox(const std::string& text); // "user@domain" as configured

dns::ResolverOptions resolver_options(const Config& config);
// Domains with tls = "required": deliveries and callouts alike.
std::map<std::string, delivery::TlsPolicy> domain_tls(const Config& config);

// Where mail and callouts for a domain go: its configured primary, or its better MX hosts.
std::unique_ptr<delivery::DnsRouter> make_router(const Config& config, dns::Resolver& resolver,
                                                 std::shared_ptr<spdlog::logger> log,
                                                 policy::Destinations* destinations = nullptr);
std::map<std::string, std::vector<delivery::StaticHop>> primaries(const Config& config);
// Backed-up domains without a configured primary: their MX records say where mail goes.
std::vector<std::string> routed_by_mx(const Config& config);
std::set<std::string> domain_names(const Config& config); // every backed-up domain

policy::VerifyCacheOptions cache_options(const Config& config);
delivery::CalloutOptions callout_options(const Config& config);
// [delivery] source_address as addresses, for every outgoing connection.
std::vector<asio::ip::address> source_addresses(const Config& config);

// What the pipeline needs that lives longer than one configuration.
struct PolicyServices {
  policy::VerifyCache* cache = nullptr;
  policy::RecipientProber* prober = nullptr;
  std::shared_ptr<const policy::SenderDomainCheck> sender_domain;
  std::shared_ptr<spdlog::logger> log;
  metrics::Counters* counters = nullptr;
  const policy::Destinations* destinations = nullptr;
  policy::CheckServices checks; // for the checks of [checks.<name>]
};

std::shared_ptr<const policy::Pipeline>
make_pipeline(const Config& config, const RecipientLists& lists, const PolicyServices& services);

} // namespace backstop::app
