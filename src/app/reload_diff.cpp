// reload_diff: field-by-field walk over every option: live ones are copied, the others named.
#include "app/reload_diff.hpp"

namespace backstop::app {

namespace {

class Diff {
public:
  // Needs a restart: named, not copied.
  template <typename T> void field(const char* key, const T& running, const T& next) {
    if (!(running == next)) {
      plan.restart.emplace_back(key);
    }
  }
  // Applied live: named and copied into the running configuration.
  template <typename T> void live(const char* key, T& running, const T& next) {
    if (!(running == next)) {
      plan.live.emplace_back(key);
      running = next;
    }
  }
  ReloadPlan plan;
};

// The session pipeline is rebuilt from these on every reload (app/verification.cpp), the
// offender rules and the contacts' lifetime are set again (app/serve.cpp, apply_reload).
void live_options(Diff& d, Config& a, const Config& b) {
  d.live("log.level", a.log.level, b.log.level);
  d.live("smtp.reject_sender_routing", a.smtp.reject_sender_routing, b.smtp.reject_sender_routing);
  d.live("smtp.shutdown_timeout", a.smtp.shutdown_timeout, b.smtp.shutdown_timeout);
  d.live("state.contacts_keep", a.state.contacts_keep, b.state.contacts_keep);
  auto& o = a.offenders;
  const auto& p = b.offenders;
  d.live("offenders.threshold", o.threshold, p.threshold);
  d.live("offenders.window", o.window, p.window);
  d.live("offenders.listing", o.listing, p.listing);
  d.live("offenders.keep_offenses", o.keep_offenses, p.keep_offenses);
  d.live("offenders.allow_networks", o.allow_networks, p.allow_networks);
  d.live("offenders.allow_ptr_suffixes", o.allow_ptr_suffixes, p.allow_ptr_suffixes);
  auto& v = a.verify;
  const auto& w = b.verify;
  d.live("verify.callout", v.callout, w.callout);
  d.live("verify.unverified", v.unverified, w.unverified);
  d.live("verify.max_unknown_recipients", v.max_unknown_recipients, w.max_unknown_recipients);
  d.live("verify.unknown_recipient_delay", v.unknown_recipient_delay, w.unknown_recipient_delay);
  d.live("verify.sender_domain", v.sender_domain, w.sender_domain);
  d.live("verify.sender_domain_dns_trouble", v.accept_sender_dns_trouble,
         w.accept_sender_dns_trouble);
  d.live("checks.reject_score", a.checks.reject_score, b.checks.reject_score);
  d.live("checks", a.checks.sections, b.checks.sections);
  d.live("domain", a.domains, b.domains); // routes, ETRN, TLS, decoys: reload_delivery()
}

void top_and_smtp(Diff& d, const Config& a, const Config& b) {
  d.field("smtp.etrn_clients", a.smtp.etrn_clients, b.smtp.etrn_clients);
  d.field("hostname", a.hostname, b.hostname);
  d.field("local_names", a.local_names, b.local_names);
  d.field("local_addresses", a.local_addresses, b.local_addresses);
  // Delivery's local identity and the checks' services are built once at start.
  d.field("peers.addresses", a.peers.addresses, b.peers.addresses);
  d.field("peers.names", a.peers.names, b.peers.names);
  d.field("postmaster", a.postmaster, b.postmaster);
  d.field("admin.listen", a.admin.listen, b.admin.listen);
  d.field("admin.token", a.admin.token, b.admin.token);
  d.field("admin.sample_interval", a.admin.sample_interval, b.admin.sample_interval);
  d.field("user", a.user, b.user);
  d.field("scheduling", a.scheduling, b.scheduling);
  d.field("log.format", a.log.format, b.log.format);
  d.field("log.output", a.log.output, b.log.output);
  const auto &s = a.smtp, &t = b.smtp;
  d.field("smtp.listen", s.listen, t.listen);
  d.field("listener", a.listeners, b.listeners);
  d.field("smtp.max_message_size", s.max_message_size, t.max_message_size);
  d.field("smtp.max_connections", s.max_connections, t.max_connections);
  d.field("smtp.max_connections_per_ip", s.max_connections_per_ip, t.max_connections_per_ip);
  d.field("smtp.max_connections_per_network", s.max_connections_per_network,
          t.max_connections_per_network);
  d.field("smtp.network_prefix_ipv4", s.network_prefix_ipv4, t.network_prefix_ipv4);
  d.field("smtp.network_prefix_ipv6", s.network_prefix_ipv6, t.network_prefix_ipv6);
  d.field("smtp.max_recipients", s.max_recipients, t.max_recipients);
  d.field("smtp.max_errors", s.max_errors, t.max_errors);
  d.field("smtp.max_line_length", s.max_line_length, t.max_line_length);
  d.field("smtp.hop_count_limit", s.hop_count_limit, t.hop_count_limit);
  d.field("smtp.bare_line_endings", s.reject_bare_line_endings, t.reject_bare_line_endings);
  d.field("smtp.tls_certificate", s.tls_certificate, t.tls_certificate);
  d.field("smtp.tls_key", s.tls_key, t.tls_key);
  d.field("smtp.greeting_delay", s.greeting_delay, t.greeting_delay);
  d.field("smtp.command_timeout", s.command_timeout, t.command_timeout);
  d.field("smtp.data_timeout", s.data_timeout, t.data_timeout);
  d.field("smtp.workers", s.workers, t.workers);
}

void stores(Diff& d, const Config& a, const Config& b) {
  d.field("queue.dir", a.queue.dir, b.queue.dir);
  d.field("queue.segment_size", a.queue.segment_size, b.queue.segment_size);
  d.field("queue.spill_threshold", a.queue.spill_threshold, b.queue.spill_threshold);
  d.field("queue.commit_delay_us", a.queue.commit_delay_us, b.queue.commit_delay_us);
  d.field("state.backend", a.state.backend, b.state.backend);
  d.field("state.path", a.state.path, b.state.path);
  d.field("state.url", a.state.url, b.state.url);
  d.field("state.password", a.state.password, b.state.password);
  d.field("state.key_prefix", a.state.key_prefix, b.state.key_prefix);
  d.field("state.timeout", a.state.timeout, b.state.timeout);
  d.field("dns.servers", a.dns.servers, b.dns.servers);
  d.field("dns.timeout", a.dns.timeout, b.dns.timeout);
  d.field("dns.tries", a.dns.tries, b.dns.tries);
  d.field("dns.temporary_failure_ttl", a.dns.temporary_failure_ttl, b.dns.temporary_failure_ttl);
  d.field("dns.min_ttl", a.dns.min_ttl, b.dns.min_ttl);
  d.field("dns.max_ttl", a.dns.max_ttl, b.dns.max_ttl);
  d.field("admin.control_socket", a.admin.control_socket, b.admin.control_socket);
}

void delivery_and_verify(Diff& d, const Config& a, const Config& b) {
  const auto &x = a.delivery, &y = b.delivery;
  d.field("delivery.retry_initial", x.retry_initial, y.retry_initial);
  d.field("delivery.retry_max", x.retry_max, y.retry_max);
  d.field("delivery.delay_warning", x.delay_warning, y.delay_warning);
  d.field("delivery.max_queue_lifetime", x.max_queue_lifetime, y.max_queue_lifetime);
  d.field("delivery.max_connections", x.max_connections, y.max_connections);
  d.field("delivery.max_connections_per_destination", x.max_connections_per_destination,
          y.max_connections_per_destination);
  d.field("delivery.connect_timeout", x.connect_timeout, y.connect_timeout);
  d.field("delivery.command_timeout", x.command_timeout, y.command_timeout);
  d.field("delivery.data_timeout", x.data_timeout, y.data_timeout);
  d.field("delivery.bounce", x.bounce, y.bounce);
  d.field("delivery.mx_port", x.mx_port, y.mx_port);
  d.field("delivery.source_address", x.source_address, y.source_address);
  d.field("delivery.route_check_interval", x.route_check_interval, y.route_check_interval);
  d.field("monitor.probe_interval", a.monitor.probe_interval, b.monitor.probe_interval);
  d.field("monitor.probe_timeout", a.monitor.probe_timeout, b.monitor.probe_timeout);
  d.field("monitor.down_after", a.monitor.down_after, b.monitor.down_after);
  d.field("monitor.up_after", a.monitor.up_after, b.monitor.up_after);
  d.field("monitor.heartbeat_window", a.monitor.heartbeat_window, b.monitor.heartbeat_window);
  d.field("monitor.history", a.monitor.history, b.monitor.history);
  const auto &v = a.verify, &w = b.verify;
  d.field("verify.sender", v.sender, w.sender);
  d.field("verify.fallback_sender", v.fallback_sender, w.fallback_sender);
  d.field("verify.timeout", v.timeout, w.timeout);
  d.field("verify.positive_ttl", v.positive_ttl, w.positive_ttl);
  d.field("verify.positive_refresh", v.positive_refresh, w.positive_refresh);
  d.field("verify.negative_ttl", v.negative_ttl, w.negative_ttl);
  d.field("verify.max_connections_per_primary", v.max_connections_per_primary,
          w.max_connections_per_primary);
  d.field("verify.idle_timeout", v.idle_timeout, w.idle_timeout);
  d.field("verify.primary_down_backoff", v.primary_down_backoff, w.primary_down_backoff);
  d.field("verify.cache_size", v.cache_size, w.cache_size);
}

} // namespace

ReloadPlan take_live_options(Config& running, const Config& next) {
  Diff d;
  top_and_smtp(d, running, next);
  stores(d, running, next);
  delivery_and_verify(d, running, next);
  live_options(d, running, next);
  return std::move(d.plan);
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
  Config copy = running;
  return take_live_options(copy, next).restart;
}

} // namespace backstop::app
