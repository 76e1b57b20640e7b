// listener_config: [[listener]] keys, their defaults and their checks.
#include "app/listener_config.hpp"

#include "app/config_loader.hpp"
#include "mail/cidr.hpp"

#include <cstdio>
#include <ctime>
#include <set>

namespace backstop::app {

namespace {

constexpr std::chrono::seconds defer_duration{60};
constexpr std::chrono::seconds tarpit_duration{600};

bool is_trap_talking(const std::string& kind) { return kind == "defer" || kind == "tarpit"; }

// "2026-01-31" -> its midnight UTC; false when it is no such date.
bool parse_date(const std::string& text, std::int64_t& out) {
  std::tm tm{};
  int year = 0, month = 0, day = 0;
  char tail = 0;
  if (text.size() != 10 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &tail) != 3) {
    return false;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  const std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_year != tm.tm_year || back.tm_mon != month - 1 || back.tm_mday != day) {
    return false; // 2026-02-30 and friends
  }
  out = static_cast<std::int64_t>(t);
  return true;
}

void read_address(TomlReader& r, ListenerConfig& l) {
  std::string text;
  r.string("address", text);
  if (text.empty()) {
    r.error("address", "is required: an address:port such as \"127.0.0.9:25\"");
  } else if (!parse_ip_endpoint(text, 25, l.address)) {
    r.error("address", "\"" + text +
                           "\" is not an address:port such as \"127.0.0.9:25\" or "
                           "\"[::1]:25\"");
  }
}

void read_stale(TomlReader& r, ListenerConfig& l) {
  r.string("stale_since", l.stale_since);
  if (!l.stale_since.empty() && !parse_date(l.stale_since, l.stale_since_unix)) {
    r.error("stale_since", "must be a date such as \"2026-01-31\" (the day the MX record "
                           "pointing here was withdrawn)");
  }
  if (r.has("stale_grace") && l.stale_since.empty()) {
    r.error("stale_grace", "has no effect without stale_since");
  }
  r.duration("stale_grace", l.stale_grace);
}

// Keys that only some kinds read: an error names the kinds that do.
void read_kind_keys(TomlReader& r, ListenerConfig& l) {
  const bool talks = is_trap_talking(l.kind);
  if (r.has("count_hits") && talks) {
    r.error("count_hits", "is for kind \"refuse\" and \"smtp\": a " + l.kind +
                              " listener counts a hit only when RCPT names one of our domains "
                              "(anti-poisoning)");
  }
  r.boolean("count_hits", l.count_hits);
  for (const char* key : {"max_duration", "max_commands"}) {
    if (r.has(key) && !talks) {
      r.error(key, "is for kind \"defer\" and \"tarpit\"");
    }
  }
  l.max_duration = l.kind == "tarpit" ? tarpit_duration : defer_duration;
  r.duration("max_duration", l.max_duration);
  if (l.max_duration.count() < 1) {
    r.error("max_duration", "must be at least 1s");
  }
  std::uint64_t n = l.max_commands;
  r.integer("max_commands", n, 1, 1000);
  l.max_commands = n;
  if (r.has("stutter") && l.kind != "tarpit") {
    r.error("stutter", "is for kind \"tarpit\"");
  }
  r.millis("stutter", l.stutter);
  if (r.has("max_bytes_per_second") && l.kind != "tarpit") {
    r.error("max_bytes_per_second", "is for kind \"tarpit\"");
  }
  std::uint64_t rate = l.max_bytes_per_second;
  r.integer("max_bytes_per_second", rate, 0, 10000000);
  l.max_bytes_per_second = rate;
  if (l.stutter.count() < 10 || l.stutter.count() > 10000) {
    r.error("stutter", "must be between 10 and 10000 milliseconds (spamd allows up to 10 s)");
  }
}

// proxy_protocol and its keys: the networks must parse, and the keys need the switch.
void read_proxy(TomlReader& r, ListenerConfig& l) {
  r.boolean("proxy_protocol", l.proxy_protocol);
  for (const char* key : {"trusted_proxies", "proxy_timeout"}) {
    if (r.has(key) && !l.proxy_protocol) {
      r.error(key, "has no effect without proxy_protocol = true");
    }
  }
  r.strings("trusted_proxies", l.trusted_proxies);
  for (const auto& network : l.trusted_proxies) {
    if (!mail::Cidr::parse(network)) {
      r.error("trusted_proxies",
              "\"" + network + "\" is not a network such as \"127.0.0.0/8\" or an address");
    }
  }
  if (l.proxy_protocol && l.trusted_proxies.empty()) {
    r.error("trusted_proxies", "is empty: no proxy could ever connect");
  }
  r.duration("proxy_timeout", l.proxy_timeout);
  if (l.proxy_timeout.count() < 1 || l.proxy_timeout.count() > 60) {
    r.error("proxy_timeout", "must be between 1s and 60s");
  }
}

} // namespace

std::optional<smtp::ProxySettings> proxy_settings(const ListenerConfig& config) {
  if (!config.proxy_protocol) {
    return std::nullopt;
  }
  smtp::ProxySettings proxy;
  for (const auto& network : config.trusted_proxies) {
    if (auto cidr = mail::Cidr::parse(network)) {
      proxy.trusted.push_back(*cidr);
    }
  }
  proxy.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.proxy_timeout);
  return proxy;
}

void read_listeners(TomlReader& top, const toml::array* tables,
                    const std::vector<Endpoint>& smtp_listen, std::vector<ListenerConfig>& out,
                    std::vector<std::string>& errors) {
  if (tables == nullptr) {
    return;
  }
  std::set<std::string> seen;
  for (const auto& e : smtp_listen) {
    seen.insert(e.to_string());
  }
  std::size_t index = 0;
  for (const auto& node : *tables) {
    const std::string prefix = "listener[" + std::to_string(index++) + "]";
    const auto* t = node.as_table();
    if (t == nullptr) {
      top.error_at(node, prefix, "must be a table; write [[listener]]");
      continue;
    }
    ListenerConfig l;
    TomlReader r(*t, prefix, errors);
    read_address(r, l);
    constexpr const char* kinds[] = {"smtp", "refuse", "defer", "tarpit"};
    l.kind = kinds[r.choice("kind", {"smtp", "refuse", "defer", "tarpit"}, 0)];
    r.string("name", l.name);
    read_stale(r, l);
    read_kind_keys(r, l);
    read_proxy(r, l);
    r.finish();
    if (!l.address.host.empty() && !seen.insert(l.address.to_string()).second) {
      r.error("address",
              "\"" + l.address.to_string() + "\" is already a listener (here or in [smtp] listen)");
    }
    out.push_back(std::move(l));
  }
}

trap::TrapListener trap_listener(const ListenerConfig& config) {
  trap::TrapListener t;
  constexpr trap::Kind kinds[] = {trap::Kind::Smtp, trap::Kind::Refuse, trap::Kind::Defer,
                                  trap::Kind::Tarpit};
  constexpr const char* names[] = {"smtp", "refuse", "defer", "tarpit"};
  for (std::size_t i = 0; i < 4; ++i) {
    if (config.kind == names[i]) {
      t.kind = kinds[i];
    }
  }
  t.label = config.kind + " " + config.address.to_string();
  t.name = config.name;
  t.stale_since = config.stale_since;
  if (!config.stale_since.empty()) {
    t.stale_after = config.stale_since_unix + config.stale_grace.count();
  }
  t.count_hits = config.count_hits;
  t.max_duration = config.max_duration;
  t.stutter = config.stutter;
  t.max_bytes_per_second = static_cast<std::uint32_t>(config.max_bytes_per_second);
  t.max_commands = static_cast<std::uint16_t>(config.max_commands);
  return t;
}

} // namespace backstop::app
