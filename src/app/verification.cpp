// verification: options to parts, and the pipeline they make.
#include "app/verification.hpp"

#include "app/check_entries.hpp"
#include "app/local_identity.hpp"
#include "policy/core_checks.hpp"

#include <algorithm>

namespace backstop::app {

mail::Result<RecipientLists> load_recipient_lists(const Config& config) {
  RecipientLists lists;
  for (const auto& d : config.domains) {
    if (d.recipients.empty()) {
      continue;
    }
    auto list = policy::RecipientList::load(d.recipients);
    if (!list) {
      return mail::make_error("domain " + d.name + ": recipients: " + list.error().message);
    }
    lists[d.name] = std::make_shared<const policy::RecipientList>(std::move(list.value()));
  }
  return lists;
}

mail::Address parse_mailbox(const std::string& text) {
  const auto at = text.rfind('@');
  if (at == std::string::npos) {
    return mail::Address{text, ""};
  }
  return mail::Address{text.substr(0, at), mail::normalize_domain(text.substr(at + 1))};
}

dns::ResolverOptions resolver_options(const Config& config) {
  dns::ResolverOptions o;
  o.servers = config.dns.servers;
  o.timeout = config.dns.timeout;
  o.tries = config.dns.tries;
  o.temporary_failure_ttl = config.dns.temporary_failure_ttl;
  o.min_ttl = config.dns.min_ttl;
  o.max_ttl = config.dns.max_ttl;
  return o;
}

std::map<std::string, delivery::TlsPolicy> domain_tls(const Config& config) {
  std::map<std::string, delivery::TlsPolicy> out;
  for (const auto& d : config.domains) {
    if (d.tls_required) {
      out[d.name] = delivery::TlsPolicy::Required;
    }
  }
  return out;
}

std::map<std::string, std::vector<delivery::StaticHop>> primaries(const Config& config) {
  std::map<std::string, std::vector<delivery::StaticHop>> out;
  for (const auto& d : config.domains) {
    for (const auto& p : d.primary) {
      out[d.name].push_back({p.host, p.port});
    }
  }
  return out;
}

std::set<std::string> domain_names(const Config& config) {
  std::set<std::string> out;
  for (const auto& d : config.domains) {
    out.insert(d.name);
  }
  return out;
}

std::vector<std::string> routed_by_mx(const Config& config) {
  std::vector<std::string> out;
  for (const auto& d : config.domains) {
    if (d.primary.empty()) {
      out.push_back(d.name);
    }
  }
  return out;
}

std::unique_ptr<delivery::DnsRouter> make_router(const Config& config, dns::Resolver& resolver,
                                                 std::shared_ptr<spdlog::logger> log,
                                                 policy::Destinations* destinations) {
  return std::make_unique<delivery::DnsRouter>(resolver, local_identity(config), primaries(config),
                                               config.delivery.mx_port, std::move(log),
                                               destinations);
}

policy::VerifyCacheOptions cache_options(const Config& config) {
  const auto& v = config.verify;
  return {v.positive_ttl, v.negative_ttl, v.positive_refresh, v.cache_size};
}

delivery::CalloutOptions callout_options(const Config& config) {
  const auto& v = config.verify;
  delivery::CalloutOptions o;
  if (!v.sender.empty()) {
    o.sender = parse_mailbox(v.sender);
  }
  if (!v.fallback_sender.empty()) {
    o.fallback_sender = parse_mailbox(v.fallback_sender);
  }
  o.max_connections_per_primary = v.max_connections_per_primary;
  o.idle_timeout = v.idle_timeout;
  o.down_backoff = v.primary_down_backoff;
  o.timeout = v.timeout;
  o.client.helo_name = config.hostname;
  o.client.source_addresses = source_addresses(config);
  o.domain_tls = domain_tls(config);
  return o;
}

std::vector<asio::ip::address> source_addresses(const Config& config) {
  std::vector<asio::ip::address> out;
  for (const auto& text : config.delivery.source_address) {
    std::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (!ec) { // validated when the config was loaded
      out.push_back(address);
    }
  }
  return out;
}

namespace {

std::shared_ptr<const policy::RecipientVerifier>
make_verifier(const Config& config, const RecipientLists& lists, const PolicyServices& services) {
  std::map<std::string, policy::DomainVerification, std::less<>> domains;
  bool any_verification = false;
  for (const auto& d : config.domains) {
    policy::DomainVerification v;
    v.callout = d.verify.value_or(config.verify.callout) && services.prober != nullptr;
    v.unverified = d.unverified.value_or(config.verify.unverified);
    if (auto it = lists.find(d.name); it != lists.end()) {
      v.list = it->second;
    }
    any_verification = any_verification || v.callout || v.list;
    domains.emplace(d.name, std::move(v));
  }
  if (!any_verification || services.cache == nullptr || services.prober == nullptr) {
    return nullptr;
  }
  return std::make_shared<const policy::RecipientVerifier>(
      std::move(domains), *services.cache, *services.prober, services.log, services.counters);
}

// The checks that [smtp], [verify] and [[domain]] configure, at fixed places in the order.
std::vector<policy::CheckEntry> core_check_entries(const Config& config,
                                                   const RecipientLists& lists,
                                                   const PolicyServices& services) {
  const auto domains = domain_names(config);
  std::vector<std::string> names(domains.begin(), domains.end());
  std::vector<policy::CheckEntry> out;
  out.push_back(
      {std::make_shared<const policy::RecipientDomainCheck>(
           policy::RelayDomains(names), config.smtp.reject_sender_routing, services.destinations),
       -100, true});
  if (config.verify.sender_domain && services.sender_domain) {
    policy::SenderDnsTrouble trouble;
    for (const auto& d : config.domains) {
      if (d.accept_sender_dns_trouble.value_or(config.verify.accept_sender_dns_trouble)) {
        trouble.accepting.insert(d.name);
      }
    }
    out.push_back({std::make_shared<const policy::SenderDomainStage>(
                       services.sender_domain, std::move(trouble), services.log, services.counters),
                   50, false});
  }
  if (auto verifier = make_verifier(config, lists, services)) {
    policy::DictionaryGuard guard;
    guard.max_unknown_recipients = config.verify.max_unknown_recipients;
    guard.delay = config.verify.unknown_recipient_delay;
    out.push_back(
        {std::make_shared<const policy::RecipientVerification>(std::move(verifier), guard), 500,
         true});
  }
  return out;
}

} // namespace

std::shared_ptr<const policy::Pipeline>
make_pipeline(const Config& config, const RecipientLists& lists, const PolicyServices& services) {
  policy::PipelineParts parts;
  parts.checks = core_check_entries(config, lists, services);
  for (auto& entry : registered_check_entries(config.checks, services.checks)) {
    parts.checks.push_back(std::move(entry));
  }
  std::stable_sort(parts.checks.begin(), parts.checks.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  parts.reject_score = config.checks.reject_score;
  parts.log = services.log;
  parts.counters = services.counters;
  return std::make_shared<const policy::Pipeline>(std::move(parts));
}

} // namespace backstop::app
