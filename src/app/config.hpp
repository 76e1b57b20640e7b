// config: the whole configuration as plain values, after validation. Loaded from one TOML
// file by config_loader; every option is documented in docs/configuration.md with its
// default. Nothing here reads files or sockets.
#pragma once

#include "app/cpu_scheduling.hpp"
#include "delivery/notice_policy.hpp"
#include "policy/unverified_policy.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace backstop::app {

struct Endpoint {
  std::string host; // "127.0.0.1", "::1" (no brackets), or a name for primaries
  std::uint16_t port = 0;
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

struct SmtpConfig {
  std::vector<Endpoint> listen{{"0.0.0.0", 25}};
  std::uint64_t max_message_size = 26214400;
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 50;
  std::size_t max_connections_per_network = 0; // 0 = no limit
  std::size_t network_prefix_ipv4 = 24;        // what one network is for that limit
  std::size_t network_prefix_ipv6 = 64;
  std::size_t max_recipients = 100;
  std::size_t max_errors = 10;
  std::size_t max_line_length = 1000;   // DATA text lines, CRLF included
  std::size_t hop_count_limit = 50;     // more Received headers: 554 5.4.6 (mail loop)
  bool reject_bare_line_endings = true; // false: normalise bare CR/LF to CRLF and accept
  std::string tls_certificate;
  std::string tls_key;
  std::chrono::seconds greeting_delay{0};
  std::chrono::seconds command_timeout{300}; // RFC 5321 4.5.3.2.7 server timeout
  std::chrono::seconds data_timeout{180};    // 4.5.3.2.5 data block
  std::chrono::seconds shutdown_timeout{30}; // SIGTERM: how long open sessions may finish
  std::size_t workers = 0;                   // SMTP event loops; 0 = cores - 1, at least 1
  std::vector<std::string> etrn_clients;     // CIDRs allowed to send ETRN
  bool reject_sender_routing = true;         // 550 5.7.1 for '%', '!', '@' in local parts
};

// [[listener]]: one more address, of a kind: "smtp" (the normal session, as [smtp] listen),
// or a trap: "refuse", "defer", "tarpit" (src/trap/). docs/configuration.md.
struct ListenerConfig {
  Endpoint address;
  std::string kind = "smtp";
  std::string name;                            // for logs and evidence; may be empty
  std::string stale_since;                     // "2026-01-31": an old MX address; "" = none
  std::int64_t stale_since_unix = 0;           // its midnight UTC
  std::chrono::seconds stale_grace{2 * 86400}; // DNS TTL plus a margin
  bool count_hits = false;                     // refuse, smtp: hits count toward the blacklist
  std::chrono::seconds max_duration{0};        // defer, tarpit; 0 = the kind's default
  std::chrono::milliseconds stutter{1000};     // tarpit: delay before each byte
  std::size_t max_bytes_per_second = 4000;     // tarpit: all its connections; 0 = no bound
  std::size_t max_commands = 20;               // defer, tarpit
  bool proxy_protocol = false;                 // a PROXY header (HAProxy) comes first
  std::vector<std::string> trusted_proxies{"127.0.0.0/8", "::1"}; // who may send it
  std::chrono::seconds proxy_timeout{5};                          // ... and how soon
  bool operator==(const ListenerConfig&) const = default;
};

struct QueueConfig {
  std::filesystem::path dir = "/var/spool/backstop";
  std::uint64_t segment_size = 64ull * 1024 * 1024;
  std::size_t spill_threshold = 256 * 1024;
  std::uint64_t commit_delay_us = 300; // a small batch waits this long for more to share a sync
};

struct StateConfig {
  std::string backend = "sqlite"; // or "redis" (shared by several backstop hosts)
  std::filesystem::path path = "/var/lib/backstop/state.db";
  std::string url = "redis://127.0.0.1:6379/0";  // redis: where
  std::string password;                          // redis: AUTH, overrides one in url
  std::string key_prefix = "backstop:";          // redis: before every key
  std::chrono::milliseconds timeout{10};         // redis: deadline of each call
  std::chrono::seconds contacts_keep{7 * 86400}; // MX contacts are forgotten after this
};

// [offenders]: when repeat offenders are blacklisted (state::BlacklistRules), and who never is.
struct OffendersConfig {
  std::uint64_t threshold = 5;                    // counting offenses within window; 0 = never
  std::chrono::seconds window{86400};             // ... that list an address
  std::chrono::seconds listing{7 * 86400};        // how long an automatic listing lasts
  std::chrono::seconds keep_offenses{30 * 86400}; // the evidence is kept this long
  std::vector<std::string> allow_networks;        // never listed, never refused
  std::vector<std::string> allow_ptr_suffixes;    // forward-confirmed PTR names under these
};

// [peers]: the other backstop hosts of the same domains (mail/peer_hosts.hpp).
struct PeersConfig {
  std::vector<std::string> addresses; // addresses or CIDR networks
  std::vector<std::string> names;     // host names (resolved at connect, matched as MX names)
};

struct DnsConfig {
  std::vector<std::string> servers; // "host:port"; empty = system resolver configuration
  std::chrono::milliseconds timeout{2000};
  int tries = 2;
  std::chrono::seconds temporary_failure_ttl{5}; // failed lookups answered from memory
  std::chrono::seconds min_ttl{60};              // bounds of a positive answer's lifetime
  std::chrono::seconds max_ttl{86400};
};

// [verify] unverified and its per-domain override: what "cannot tell" means.
using Unverified = policy::UnverifiedPolicy;

struct DomainConfig {
  std::string name;                     // normalised
  std::vector<Endpoint> primary;        // empty = the domain's more-preferred MX hosts
  bool tls_required = false;            // tls = "required": verified STARTTLS or no delivery
  std::optional<bool> verify;           // callouts for this domain; unset = [verify] callout
  std::optional<Unverified> unverified; // unset = [verify] unverified
  std::filesystem::path recipients;     // static recipient list; empty = none
  // sender_domain_dns_trouble = "accept"; unset = [verify] sender_domain_dns_trouble
  std::optional<bool> accept_sender_dns_trouble;
  std::vector<std::string> decoy; // nolisting MX hosts (names or addresses): never the primary
  bool operator==(const DomainConfig&) const = default;
};

// Recipient verification (callouts), its cache, and the checks that keep backscatter away.
struct VerifyConfig {
  bool callout = true;
  std::string sender; // MAIL FROM of callouts; empty = the null sender
  // MAIL FROM for a primary that refused <> (only without sender); empty = none
  std::string fallback_sender;
  std::chrono::seconds timeout{10};
  std::chrono::seconds positive_ttl{31 * 86400};
  std::chrono::seconds positive_refresh{7 * 86400};
  std::chrono::seconds negative_ttl{3 * 3600};
  std::size_t max_connections_per_primary = 2;
  std::chrono::seconds idle_timeout{30};
  std::chrono::seconds primary_down_backoff{60};
  std::size_t cache_size = 100000;
  // "accept" | "defer" | "verified-sender"
  Unverified unverified = Unverified::VerifiedSender;
  std::size_t max_unknown_recipients = 5; // per session; 0 = no limit
  std::chrono::seconds unknown_recipient_delay{1};
  bool sender_domain = true;
  bool accept_sender_dns_trouble = false; // sender_domain_dns_trouble = "defer" | "accept"
};

// bounce = "always" | "verified-sender" | "never": the scheduler's own switch.
using BounceConfig = delivery::BounceMode;

struct DeliveryConfig {
  std::chrono::seconds retry_initial{300};
  std::chrono::seconds retry_max{3600};
  std::chrono::seconds delay_warning{4 * 3600}; // 0 = off
  std::chrono::seconds max_queue_lifetime{5 * 86400};
  std::size_t max_connections = 100;
  std::size_t max_connections_per_destination = 10;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  BounceConfig bounce = BounceConfig::Always;
  std::uint16_t mx_port = 25;                     // port of MX hosts (not of configured primaries)
  std::chrono::seconds route_check_interval{300}; // re-route domains without a primary
  std::vector<std::string> source_address;        // bind outgoing connections: one IPv4, one IPv6
};

// [monitor]: is each domain's primary up (monitor/primary_monitor.hpp).
struct MonitorConfig {
  std::chrono::seconds probe_interval{60}; // 0 = no probes
  std::chrono::seconds probe_timeout{10};
  std::uint64_t down_after = 3;
  std::uint64_t up_after = 2;
  std::chrono::seconds heartbeat_window{300}; // an allowed ETRN proves the primary alive; 0 = off
  std::chrono::seconds history{30 * 86400};   // how long state changes are kept
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";   // "text" | "json"
  std::string output = "stderr"; // "stderr" | "syslog" | "journald"
};

struct AdminConfig {
  std::filesystem::path control_socket;                         // empty = <queue.dir>/control.sock
  std::optional<Endpoint> listen = Endpoint{"127.0.0.1", 8025}; // HTTP; nullopt = off ("")
  std::string token; // bearer token for HTTP; required on a non-loopback address
  std::chrono::seconds sample_interval{60}; // the status page's history: one sample per
};

// [checks]: the policy checks of src/checks/. Each [checks.<name>] table is kept as written
// and read by its check (app/check_entries.cpp) when a pipeline is built.
struct ChecksConfig {
  double reject_score = 0; // a session score this high refuses at RCPT; 0 = off
  toml::table sections;    // name -> its table
};

struct Config {
  std::filesystem::path source; // the file it came from
  std::string hostname;
  std::vector<std::string> local_names;     // other names of this host (MX targets)
  std::vector<std::string> local_addresses; // addresses MX records may point at for us
  std::string postmaster; // where RCPT TO:<postmaster> goes; default postmaster@<first domain>
  std::string user;       // started as root: run as this account once bound; empty = stay
  CpuScheduling scheduling = CpuScheduling::Batch; // every thread's kernel policy
  LogConfig log;
  SmtpConfig smtp;
  QueueConfig queue;
  StateConfig state;
  OffendersConfig offenders;
  PeersConfig peers;
  DnsConfig dns;
  AdminConfig admin;
  DeliveryConfig delivery;
  VerifyConfig verify;
  MonitorConfig monitor;
  ChecksConfig checks;
  std::vector<DomainConfig> domains;
  std::vector<ListenerConfig> listeners; // [[listener]]

  std::filesystem::path control_socket() const {
    return admin.control_socket.empty() ? queue.dir / "control.sock" : admin.control_socket;
  }
};

} // namespace backstop::app
