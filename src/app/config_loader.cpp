// config_loader: TOML -> Config, with every error named by key and line.
#include "app/config_loader.hpp"

#include "app/check_entries.hpp"
#include "app/listener_config.hpp"
#include "app/monitor_config.hpp"
#include "app/peers_config.hpp"
#include "app/privileges.hpp"
#include "app/toml_reader.hpp"
#include "dns/special_use.hpp"
#include "mail/address.hpp"
#include "mail/cidr.hpp"
#include "state/offender_allowlist.hpp"
#include "state/redis_connection.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <asio/ip/address.hpp>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace backstop::app {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

namespace {

// "127.0.0.1:25", "[::1]:25", "mx.example:2526"; default_port when none is given.
bool parse_endpoint(std::string_view text, std::uint16_t default_port, Endpoint& out) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return false;
      }
      port = rest.substr(1);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) {
      return false; // bare IPv6 needs brackets
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    return false;
  }
  unsigned value = default_port;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
      return false;
    }
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool valid_cidr(std::string_view text) { return mail::Cidr::parse(text).has_value(); }

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return name.front() != '.' && name.front() != '-';
}

void read_endpoints(TomlReader& r, const char* key, std::uint16_t default_port, bool need_ip,
                    std::vector<Endpoint>& out) {
  std::vector<std::string> texts;
  const bool present = r.array(key) != nullptr;
  if (!present) {
    return;
  }
  r.strings(key, texts);
  std::vector<Endpoint> parsed;
  for (const auto& t : texts) {
    Endpoint e;
    if (!parse_endpoint(t, default_port, e) || (need_ip && !is_ip_literal(e.host))) {
      r.error(key, "\"" + t + "\" is not " +
                       (need_ip ? std::string("an address:port such as \"127.0.0.1:25\" or "
                                              "\"[::1]:25\"")
                                : std::string("a host[:port] such as \"mx1.example.org:25\"")));
      return;
    }
    parsed.push_back(e);
  }
  out = std::move(parsed);
}

void read_smtp(TomlReader& r, SmtpConfig& smtp) {
  read_endpoints(r, "listen", 25, true, smtp.listen);
  r.integer("max_message_size", smtp.max_message_size, 1024, 1ull << 31);
  std::uint64_t v = smtp.max_connections;
  r.integer("max_connections", v, 1, 1000000);
  smtp.max_connections = v;
  v = smtp.max_connections_per_ip;
  r.integer("max_connections_per_ip", v, 1, 1000000);
  smtp.max_connections_per_ip = v;
  v = smtp.max_connections_per_network;
  r.integer("max_connections_per_network", v, 0, 1000000);
  smtp.max_connections_per_network = v;
  v = smtp.network_prefix_ipv4;
  r.integer("network_prefix_ipv4", v, 8, 32);
  smtp.network_prefix_ipv4 = v;
  v = smtp.network_prefix_ipv6;
  r.integer("network_prefix_ipv6", v, 16, 128);
  smtp.network_prefix_ipv6 = v;
  v = smtp.max_recipients;
  r.integer("max_recipients", v, 1, 100000);
  smtp.max_recipients = v;
  v = smtp.max_errors;
  r.integer("max_errors", v, 1, 1000);
  smtp.max_errors = v;
  v = smtp.max_line_length;
  r.integer("max_line_length", v, 1000, 1 << 20);
  smtp.max_line_length = v;
  v = smtp.hop_count_limit;
  r.integer("hop_count_limit", v, 1, 1000);
  smtp.hop_count_limit = v;
  smtp.reject_bare_line_endings = r.choice("bare_line_endings", {"reject", "normalize"},
                                           smtp.reject_bare_line_endings ? 0 : 1) == 0;
  r.string("tls_certificate", smtp.tls_certificate);
  r.string("tls_key", smtp.tls_key);
  if (smtp.tls_certificate.empty() != smtp.tls_key.empty()) {
    r.error(smtp.tls_key.empty() ? "tls_certificate" : "tls_key",
            "tls_certificate and tls_key must be set together");
  }
  for (const char* key : {"tls_certificate", "tls_key"}) {
    const std::string& path = std::string(key) == "tls_key" ? smtp.tls_key : smtp.tls_certificate;
    if (!path.empty() && !std::ifstream(path).good()) {
      r.error(key, "cannot read file \"" + path + "\"");
    }
  }
  r.duration("greeting_delay", smtp.greeting_delay);
  r.duration("command_timeout", smtp.command_timeout);
  r.duration("data_timeout", smtp.data_timeout);
  r.duration("shutdown_timeout", smtp.shutdown_timeout);
  v = smtp.workers;
  r.integer("workers", v, 0, 256);
  smtp.workers = v;
  r.boolean("reject_sender_routing", smtp.reject_sender_routing);
  r.strings("etrn_clients", smtp.etrn_clients);
  for (const auto& cidr : smtp.etrn_clients) {
    if (!valid_cidr(cidr)) {
      r.error("etrn_clients", "\"" + cidr + "\" is not an address or network like 10.0.0.0/8");
    }
  }
  r.finish();
}

void read_queue(TomlReader& r, QueueConfig& queue) {
  std::string dir = queue.dir.string();
  r.string("dir", dir);
  queue.dir = dir;
  r.integer("segment_size", queue.segment_size, 1 << 20, 1ull << 40);
  std::uint64_t v = queue.spill_threshold;
  r.integer("spill_threshold", v, 4096, 1ull << 30);
  queue.spill_threshold = v;
  r.integer("commit_delay_us", queue.commit_delay_us, 0, 100000);
  r.finish();
}

void read_state(TomlReader& r, StateConfig& state) {
  r.string("backend", state.backend);
  if (state.backend != "sqlite" && state.backend != "redis") {
    r.error("backend", "must be \"sqlite\" or \"redis\"");
  }
  std::string path = state.path.string();
  r.string("path", path);
  state.path = path;
  r.string("url", state.url);
  if (auto parsed = state::parse_redis_url(state.url); !parsed) {
    r.error("url", parsed.error().message);
  }
  r.string("password", state.password);
  r.string("key_prefix", state.key_prefix);
  r.millis("timeout", state.timeout);
  if (state.timeout.count() <= 0) {
    r.error("timeout", "must be at least 1 ms");
  }
  r.duration("contacts_keep", state.contacts_keep);
  r.finish();
}

void read_offenders(TomlReader& r, OffendersConfig& offenders) {
  r.integer("threshold", offenders.threshold, 0, 1000000);
  r.duration("window", offenders.window);
  r.duration("listing", offenders.listing);
  r.duration("keep_offenses", offenders.keep_offenses);
  r.strings("allow_networks", offenders.allow_networks);
  r.strings("allow_ptr_suffixes", offenders.allow_ptr_suffixes);
  if (offenders.window.count() <= 0 || offenders.listing.count() <= 0) {
    r.error(offenders.window.count() <= 0 ? "window" : "listing", "must be longer than 0 s");
  }
  if (offenders.keep_offenses < offenders.window) {
    r.error("keep_offenses", "must be at least window: older evidence would not be counted");
  }
  std::vector<std::string> errors;
  state::OffenderAllowlist(offenders.allow_networks, offenders.allow_ptr_suffixes, errors);
  for (const auto& e : errors) {
    r.error(e.find("network") != std::string::npos ? "allow_networks" : "allow_ptr_suffixes", e);
  }
  r.finish();
}

void read_dns(TomlReader& r, DnsConfig& dns) {
  r.strings("servers", dns.servers);
  for (const auto& s : dns.servers) {
    Endpoint e;
    if (!parse_endpoint(s, 53, e) || !is_ip_literal(e.host)) {
      r.error("servers", "\"" + s + "\" is not an address[:port] such as \"127.0.0.1:53\"");
    }
  }
  r.millis("timeout", dns.timeout);
  std::uint64_t tries = static_cast<std::uint64_t>(dns.tries);
  r.integer("tries", tries, 1, 10);
  dns.tries = static_cast<int>(tries);
  r.duration("temporary_failure_ttl", dns.temporary_failure_ttl);
  if (dns.temporary_failure_ttl > std::chrono::minutes(5)) {
    r.error("temporary_failure_ttl", "must be at most 5m: longer hides a resolver that is back");
  }
  r.duration("min_ttl", dns.min_ttl);
  r.duration("max_ttl", dns.max_ttl);
  if (dns.max_ttl < dns.min_ttl) {
    r.error("max_ttl", "must not be shorter than min_ttl");
  }
  r.finish();
}

// At most one address per family: the one the primary allowlists.
void read_source_addresses(TomlReader& r, std::vector<std::string>& addresses) {
  r.strings("source_address", addresses);
  int v4 = 0;
  int v6 = 0;
  for (const auto& a : addresses) {
    if (!is_ip_literal(a)) {
      r.error("source_address", "\"" + a + "\" is not an IP address");
      continue;
    }
    (a.find(':') == std::string::npos ? v4 : v6) += 1;
  }
  if (v4 > 1 || v6 > 1) {
    r.error("source_address", "at most one IPv4 and one IPv6 address");
  }
}

void read_admin(TomlReader& r, AdminConfig& admin) {
  std::string path = admin.control_socket.string();
  r.string("control_socket", path);
  admin.control_socket = path;
  std::string listen = admin.listen ? admin.listen->to_string() : "";
  r.string("listen", listen);
  r.string("token", admin.token);
  r.duration("sample_interval", admin.sample_interval);
  if (admin.sample_interval.count() < 1) {
    r.error("sample_interval", "must be at least 1s");
  }
  Endpoint e;
  if (listen.empty()) {
    admin.listen.reset();
  } else if (!parse_endpoint(listen, 8025, e) || !is_ip_literal(e.host)) {
    r.error("listen", "\"" + listen + "\" is not an address:port such as \"127.0.0.1:8025\"");
  } else {
    admin.listen = e;
    std::error_code ec;
    const auto address = asio::ip::make_address(e.host, ec);
    if (!ec && !address.is_loopback() && admin.token.empty()) {
      r.error("listen", "\"" + listen + "\" is not a loopback address: set admin.token too");
    }
  }
  r.finish();
}

void read_delivery(TomlReader& r, DeliveryConfig& d) {
  r.duration("retry_initial", d.retry_initial);
  r.duration("retry_max", d.retry_max);
  r.duration("delay_warning", d.delay_warning);
  r.duration("max_queue_lifetime", d.max_queue_lifetime);
  if (d.retry_initial.count() < 1) {
    r.error("retry_initial", "must be at least 1s");
  }
  if (d.retry_max < d.retry_initial) {
    r.error("retry_max", "must not be shorter than retry_initial");
  }
  std::uint64_t v = d.max_connections;
  r.integer("max_connections", v, 1, 10000);
  d.max_connections = v;
  v = d.max_connections_per_destination;
  r.integer("max_connections_per_destination", v, 1, 1000);
  d.max_connections_per_destination = v;
  r.duration("connect_timeout", d.connect_timeout);
  r.duration("command_timeout", d.command_timeout);
  r.duration("data_timeout", d.data_timeout);
  constexpr BounceConfig modes[] = {BounceConfig::Always, BounceConfig::VerifiedSender,
                                    BounceConfig::Never};
  d.bounce = modes[r.choice("bounce", {"always", "verified-sender", "never"}, 0)];
  std::uint64_t port = d.mx_port;
  r.integer("mx_port", port, 1, 65535);
  d.mx_port = static_cast<std::uint16_t>(port);
  r.duration("route_check_interval", d.route_check_interval);
  if (d.route_check_interval.count() < 10) {
    r.error("route_check_interval", "must be at least 10s");
  }
  read_source_addresses(r, d.source_address);
  r.finish();
}

policy::UnverifiedPolicy read_unverified(TomlReader& r, policy::UnverifiedPolicy fallback) {
  using policy::UnverifiedPolicy;
  constexpr UnverifiedPolicy policies[] = {UnverifiedPolicy::Accept, UnverifiedPolicy::Defer,
                                           UnverifiedPolicy::VerifiedSender};
  const auto index = static_cast<std::size_t>(fallback);
  return policies[r.choice("unverified", {"accept", "defer", "verified-sender"}, index)];
}

bool read_sender_dns_trouble(TomlReader& r, bool accept) {
  return r.choice("sender_domain_dns_trouble", {"defer", "accept"}, accept ? 1 : 0) == 1;
}

void read_domain(TomlReader& r, DomainConfig& domain) {
  r.string("name", domain.name);
  domain.name = mail::normalize_domain(domain.name);
  if (!valid_hostname(domain.name)) {
    r.error("name", "must be a domain name such as \"example.org\"");
  } else if (dns::special_use_name(domain.name)) {
    r.error("name", "\"" + domain.name +
                        "\" is a special-use name (RFC 6761, RFC 7686) that no "
                        "mail from the Internet can be addressed to");
  }
  read_endpoints(r, "primary", 25, false, domain.primary);
  domain.tls_required = r.choice("tls", {"opportunistic", "required"}, 0) == 1;
  if (r.has("verify")) {
    bool verify = true;
    r.boolean("verify", verify);
    domain.verify = verify;
  }
  if (r.has("unverified")) {
    domain.unverified = read_unverified(r, policy::UnverifiedPolicy::Accept);
  }
  if (r.has("sender_domain_dns_trouble")) {
    domain.accept_sender_dns_trouble = read_sender_dns_trouble(r, false);
  }
  r.strings("decoy", domain.decoy);
  std::string recipients;
  r.string("recipients", recipients);
  domain.recipients = recipients;
  r.finish();
}

void read_verify(TomlReader& r, VerifyConfig& v) {
  r.boolean("callout", v.callout);
  r.string("sender", v.sender);
  if (!v.sender.empty() && (v.sender.find('@') == std::string::npos ||
                            v.sender.find_first_of(" <>") != std::string::npos)) {
    r.error("sender", "must be empty (the null sender) or an address such as "
                      "\"verify@example.org\"");
  }
  r.string("fallback_sender", v.fallback_sender);
  if (!v.fallback_sender.empty() && (v.fallback_sender.find('@') == std::string::npos ||
                                     v.fallback_sender.find_first_of(" <>") != std::string::npos)) {
    r.error("fallback_sender", "must be empty (none) or an address such as "
                               "\"verify@example.org\"");
  }
  if (!v.fallback_sender.empty() && !v.sender.empty()) {
    r.error("fallback_sender", "is unused when sender is set (every callout uses sender): set "
                               "one of them");
  }
  r.duration("timeout", v.timeout);
  if (v.timeout.count() < 1) {
    r.error("timeout", "must be at least 1s");
  }
  r.duration("positive_ttl", v.positive_ttl);
  r.duration("positive_refresh", v.positive_refresh);
  r.duration("negative_ttl", v.negative_ttl);
  if (v.positive_refresh > v.positive_ttl) {
    r.error("positive_refresh", "must not be longer than positive_ttl");
  }
  std::uint64_t n = v.max_connections_per_primary;
  r.integer("max_connections_per_primary", n, 1, 100);
  v.max_connections_per_primary = n;
  r.duration("idle_timeout", v.idle_timeout);
  r.duration("primary_down_backoff", v.primary_down_backoff);
  n = v.cache_size;
  r.integer("cache_size", n, 16, 100000000);
  v.cache_size = n;
  v.unverified = read_unverified(r, v.unverified);
  n = v.max_unknown_recipients;
  r.integer("max_unknown_recipients", n, 0, 100000);
  v.max_unknown_recipients = n;
  r.duration("unknown_recipient_delay", v.unknown_recipient_delay);
  r.boolean("sender_domain", v.sender_domain);
  v.accept_sender_dns_trouble = read_sender_dns_trouble(r, v.accept_sender_dns_trouble);
  r.finish();
}

// A primary that is one of our own listeners would be delivery to ourselves: a mail loop.
bool is_own_listener(const Endpoint& primary, const std::vector<Endpoint>& listen) {
  std::error_code ec;
  const auto address = asio::ip::make_address(primary.host, ec);
  if (ec) {
    return false; // a name: resolved and checked at delivery time
  }
  return std::any_of(listen.begin(), listen.end(), [&](const Endpoint& l) {
    if (l.port != primary.port) {
      return false;
    }
    const auto own = asio::ip::make_address(l.host, ec);
    return !ec && (own == address || (own.is_unspecified() && address.is_loopback()));
  });
}

void read_domains(TomlReader& top, const toml::array* arr, const std::vector<Endpoint>& listen,
                  std::vector<DomainConfig>& out, std::vector<std::string>& errors) {
  if (arr == nullptr) {
    errors.emplace_back("domain: no [[domain]] is configured; backstop would refuse all mail");
    return;
  }
  std::set<std::string> seen;
  std::size_t index = 0;
  for (const auto& node : *arr) {
    const std::string prefix = "domain[" + std::to_string(index++) + "]";
    const auto* t = node.as_table();
    if (t == nullptr) {
      top.error_at(node, prefix, "must be a table; write [[domain]]");
      continue;
    }
    DomainConfig domain;
    TomlReader r(*t, prefix, errors);
    read_domain(r, domain);
    if (!seen.insert(domain.name).second) {
      r.error("name", "domain \"" + domain.name + "\" is configured twice");
    }
    for (const auto& p : domain.primary) {
      if (is_own_listener(p, listen)) {
        r.error("primary",
                "\"" + p.to_string() + "\" is this host's own smtp.listen address: a mail loop");
      }
    }
    out.push_back(std::move(domain));
  }
}

template <typename Section, typename Fn>
void read_section(TomlReader& top, const char* key, std::vector<std::string>& errors,
                  Section& section, Fn fn) {
  if (const toml::table* t = top.table(key)) {
    TomlReader r(*t, key, errors);
    fn(r, section);
  }
}

std::string default_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) {
    return "localhost";
  }
  return buf;
}

void read_top(const toml::table& root, Config& config, std::vector<std::string>& errors) {
  TomlReader top(root, "", errors);
  config.hostname = default_hostname();
  top.string("hostname", config.hostname);
  if (!valid_hostname(config.hostname)) {
    top.error("hostname", "must be this host's fully qualified name, e.g. \"mx2.example.org\"");
  }
  top.strings("local_names", config.local_names);
  top.string("user", config.user);
  if (!config.user.empty() && !look_up_user(config.user)) {
    top.error("user", "\"" + config.user + "\" is not an account on this host");
  }
  config.scheduling = top.choice("scheduling", {"batch", "normal"}, 0) == 0 ? CpuScheduling::Batch
                                                                            : CpuScheduling::Normal;
  top.strings("local_addresses", config.local_addresses);
  for (const auto& a : config.local_addresses) {
    if (!is_ip_literal(a)) {
      top.error("local_addresses", "\"" + a + "\" is not an IP address");
    }
  }
  read_section(top, "log", errors, config.log, [](TomlReader& r, LogConfig& log) {
    r.string("level", log.level);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
    if (levels.count(log.level) == 0) {
      r.error("level", "must be one of trace, debug, info, warn, error");
    }
    static const char* const formats[] = {"text", "json"};
    log.format = formats[r.choice("format", {"text", "json"}, 0)];
    static const char* const outputs[] = {"stderr", "syslog", "journald"};
    log.output = outputs[r.choice("output", {"stderr", "syslog", "journald"}, 0)];
    r.finish();
  });
  read_section(top, "smtp", errors, config.smtp, read_smtp);
  read_section(top, "queue", errors, config.queue, read_queue);
  read_section(top, "state", errors, config.state, read_state);
  read_section(top, "offenders", errors, config.offenders, read_offenders);
  read_section(top, "peers", errors, config.peers, read_peers);
  read_section(top, "dns", errors, config.dns, read_dns);
  read_section(top, "delivery", errors, config.delivery, read_delivery);
  read_section(top, "verify", errors, config.verify, read_verify);
  read_section(top, "monitor", errors, config.monitor, read_monitor);
  read_section(top, "admin", errors, config.admin, read_admin);
  read_checks(top, config.checks, errors);
  read_domains(top, top.array("domain"), config.smtp.listen, config.domains, errors);
  read_listeners(top, top.array("listener"), config.smtp.listen, config.listeners, errors);
  top.string("postmaster", config.postmaster);
  if (config.postmaster.empty() && !config.domains.empty()) {
    config.postmaster = "postmaster@" + config.domains.front().name;
  }
  const auto at = config.postmaster.rfind('@');
  if (!config.domains.empty() && (at == std::string::npos || at == 0)) {
    top.error("postmaster", "must be an address such as \"postmaster@example.org\"");
  }
  top.finish();
}

} // namespace

bool parse_ip_endpoint(std::string_view text, std::uint16_t default_port, Endpoint& out) {
  return parse_endpoint(text, default_port, out) && is_ip_literal(out.host);
}

std::variant<Config, ConfigErrors> parse_config(std::string_view toml_text,
                                                const std::filesystem::path& source) {
  ConfigErrors errors;
  toml::table root;
  try {
    root = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    errors.messages.push_back(source.string() + " (line " + std::to_string(e.source().begin.line) +
                              "): " + std::string(e.description()));
    return errors;
  }
  Config config;
  config.source = source;
  read_top(root, config, errors.messages);
  if (!errors.messages.empty()) {
    return errors;
  }
  return config;
}

std::variant<Config, ConfigErrors> load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return ConfigErrors{{file.string() + ": cannot open the configuration file"}};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file);
}

} // namespace backstop::app
