// verification: options to parts, and the pipeline they make.
#include "app/verification.hpp"

#include "app/local_identity.hpp"

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
  o.domain_tls = domain_tls(config);
  return o;
}

std::shared_ptr<const policy::Pipeline>
make_pipeline(const Config& config, const RecipientLists& lists, const PolicyServices& services) {
  std::vector<std::string> names;
  std::map<std::string, policy::DomainVerification, std::less<>> domains;
  bool any_verification = false;
  for (const auto& d : config.domains) {
    names.push_back(d.name);
    policy::DomainVerification v;
    v.callout = d.verify.value_or(config.verify.callout) && services.prober != nullptr;
    v.defer_unverified = d.defer_unverified.value_or(config.verify.defer_unverified);
    if (auto it = lists.find(d.name); it != lists.end()) {
      v.list = it->second;
    }
    any_verification = any_verification || v.callout || v.list;
    domains.emplace(d.name, std::move(v));
  }
  policy::PipelineParts parts{.relay_domains = policy::RelayDomains(names)};
  parts.destinations = services.destinations;
  parts.reject_sender_routing = config.smtp.reject_sender_routing;
  parts.log = services.log;
  parts.counters = services.counters;
  for (const auto& d : config.domains) {
    if (d.accept_sender_dns_trouble.value_or(config.verify.accept_sender_dns_trouble)) {
      parts.sender_dns_trouble.accepting.insert(d.name);
    }
  }
  if (any_verification && services.cache != nullptr && services.prober != nullptr) {
    parts.verifier = std::make_shared<const policy::RecipientVerifier>(
        std::move(domains), *services.cache, *services.prober, services.log, services.counters);
  }
  if (config.verify.sender_domain) {
    parts.sender_domain = services.sender_domain;
  }
  parts.guard.max_unknown_recipients = config.verify.max_unknown_recipients;
  parts.guard.delay = config.verify.unknown_recipient_delay;
  return std::make_shared<const policy::Pipeline>(std::move(parts));
}

} // namespace backstop::app
