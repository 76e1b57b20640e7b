// blacklist_command: the blacklist and the offenders' evidence from the command line.
#include "app/blacklist_command.hpp"

#include "admin/control_socket.hpp"
#include "admin/offender_json.hpp"
#include "app/blacklist_zone.hpp"
#include "app/offenders.hpp"
#include "app/state_options.hpp"
#include "app/time_format.hpp"
#include "mail/clock.hpp"
#include "mail/ip_address.hpp"
#include "state/store.hpp"

#include <asio/ip/address.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <unistd.h>

namespace backstop::app {

using nlohmann::json;

namespace {

mail::Result<std::unique_ptr<state::Store>> open(const Config& config) {
  return state::open_store(store_options(config.state));
}

// The address as the server records it: textual, an IPv4-mapped one as IPv4.
std::optional<std::string> client_address(const std::string& text) {
  std::error_code ec;
  const auto a = asio::ip::make_address(text, ec);
  if (ec) {
    return std::nullopt;
  }
  return mail::unmapped(a).to_string();
}

std::string until_words(std::int64_t expires_at) {
  return expires_at == 0 ? "forever" : "until " + local_time(expires_at);
}

using admin::listing_json;
using admin::offense_json;

std::string listing_line(const state::Listing& l) {
  return l.address + "  " + until_words(l.expires_at) + "  " + (l.manual ? "manual" : "auto") +
         "  listed " + local_time(l.listed_at) + ": " + l.reason;
}

int fail(const std::string& what, const std::string& message) {
  std::cerr << "backstop " << what << ": " << message << "\n";
  return 1;
}

int list(state::OffenderStore& store, const BlacklistCommand& command, std::int64_t now) {
  auto listings = store.listings(now);
  if (!listings) {
    return fail("blacklist list", listings.error().message);
  }
  if (command.json) {
    std::cout << admin::dump_json(admin::listings_json(listings.value()), 2) << "\n";
    return 0;
  }
  for (const auto& l : listings.value()) {
    std::cout << listing_line(l) << "\n";
  }
  if (listings.value().empty()) {
    std::cout << "the blacklist is empty\n";
  }
  return 0;
}

int add(const Config& config, state::OffenderStore& store, const BlacklistCommand& command,
        const std::string& address, std::int64_t now) {
  std::int64_t lifetime = config.offenders.listing.count();
  if (command.duration == "forever") {
    lifetime = 0;
  } else if (!command.duration.empty()) {
    auto parsed = parse_cli_duration(command.duration);
    if (!parsed || *parsed <= 0) {
      return fail("blacklist add", "--for: \"" + command.duration +
                                       "\" is not a duration (\"90s\", \"4h\", \"7d\", "
                                       "\"forever\")");
    }
    lifetime = *parsed;
  }
  const state::Listing listing{address, now, lifetime == 0 ? 0 : now + lifetime,
                               command.reason.empty() ? "added by hand" : command.reason, true};
  if (auto listed = store.list(listing); !listed) {
    return fail("blacklist add", listed.error().message);
  }
  std::cout << "listed " << listing_line(listing) << "\n";
  if (auto why = offender_allowlist(config).match(address, ""); !why.empty()) {
    std::cout << "note: " << address << " is allowlisted (" << why
              << "): the blacklist check never refuses it\n";
  }
  return 0;
}

int remove(state::OffenderStore& store, const std::string& address) {
  auto removed = store.unlist(address);
  if (!removed) {
    return fail("blacklist remove", removed.error().message);
  }
  if (!removed.value()) {
    std::cout << address << " was not listed\n";
    return 1;
  }
  std::cout << "removed " << address << "\n";
  return 0;
}

// An offense from outside (a firewall log of an old MX address, fail2ban): it counts by the
// same rules and allowlist as the server's own.
int report(const Config& config, state::OffenderStore& store, const BlacklistCommand& command,
           const std::string& address, std::int64_t now) {
  const auto kind = state::offense_kind_from(command.kind);
  if (!kind) {
    return fail("blacklist report", "--kind must be one of primary-deferral, trap, "
                                    "skipped-primary, stale-mx");
  }
  state::Offense offense;
  offense.address = address;
  offense.at = now;
  offense.kind = *kind;
  offense.listener = command.listener;
  offense.detail = command.reason;
  offense = state::exempted(std::move(offense), offender_allowlist(config));
  auto outcome = store.record(offense, blacklist_rules(config.offenders));
  if (!outcome) {
    return fail("blacklist report", outcome.error().message);
  }
  const auto& o = outcome.value();
  if (command.json) {
    json out{{"offense", offense_json(offense)},
             {"counting_in_window", o.counting_in_window},
             {"newly_listed", o.newly_listed},
             {"listing", o.listed ? listing_json(*o.listed) : json(nullptr)}};
    std::cout << admin::dump_json(out, 2) << "\n";
    return 0;
  }
  std::cout << "recorded: " << o.counting_in_window << " counting offenses of " << address
            << " within " << state::seconds_in_words(config.offenders.window.count()) << "\n";
  if (!offense.counts) {
    std::cout << offense.detail << ": kept as evidence, never counted\n";
  }
  if (auto words = new_listing_words(o); !words.empty()) {
    std::cout << words << "\n";
  } else if (o.listed) {
    std::cout << "listed " << listing_line(*o.listed) << "\n";
  }
  return 0;
}

// Written beside the target and renamed over it: a DNS server reloading the file never
// reads half of it.
mail::Status write_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      return mail::make_error("cannot write " + temporary);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    return mail::make_error("cannot rename " + temporary + " to " + path);
  }
  return mail::Ok{};
}

int export_zone(const Config& config, state::OffenderStore& store, const BlacklistCommand& command,
                std::int64_t now) {
  auto listings = store.listings(now);
  if (!listings) {
    return fail("blacklist export", listings.error().message);
  }
  ZoneOptions options;
  options.zone = command.zone.empty() ? "blacklist." + config.hostname : command.zone;
  while (!options.zone.empty() && options.zone.back() == '.') {
    options.zone.pop_back();
  }
  options.nameserver = command.nameserver.empty() ? config.hostname : command.nameserver;
  options.hostmaster = "hostmaster." + config.hostname;
  options.serial = command.format == "bind" ? now : 0;
  std::string text;
  if (command.format == "bind") {
    text = bind_zone(listings.value(), options);
  } else {
    text = rbldnsd_zone(listings.value(),
                        command.format == "rbldnsd6" ? IpFamily::V6 : IpFamily::V4, options);
  }
  if (command.output.empty() || command.output == "-") {
    std::cout << text;
    return 0;
  }
  if (auto written = write_atomically(command.output, text); !written) {
    return fail("blacklist export", written.error().message);
  }
  return 0;
}

using admin::AddressEvidence;

std::string offense_line(const state::Offense& o) {
  std::string line = "  " + local_time(o.at) + "  " + state::to_string(o.kind) + "  " +
                     (o.listener.empty() ? "-" : o.listener);
  const std::pair<const char*, const std::string*> fields[] = {
      {"helo", &o.helo}, {"ptr", &o.ptr}, {"from", &o.sender_domain}, {"to", &o.recipient_domain}};
  for (const auto& [name, value] : fields) {
    if (!value->empty()) {
      line += std::string("  ") + name + "=" + *value;
    }
  }
  if (!o.detail.empty()) {
    line += "  " + o.detail;
  }
  if (!o.counts) {
    line += "  (does not count)";
  }
  return line;
}

void print_evidence(const std::vector<AddressEvidence>& all, bool as_json) {
  if (as_json) {
    std::cout << admin::dump_json(admin::evidence_json(all), 2) << "\n";
    return;
  }
  for (const auto& e : all) {
    std::cout << e.address << "  "
              << (e.listing
                      ? "listed " + until_words(e.listing->expires_at) + ": " + e.listing->reason
                      : std::string("not listed"))
              << "  (" << e.offenses.size() << " offenses)\n";
    for (const auto& o : e.offenses) {
      std::cout << offense_line(o) << "\n";
    }
  }
  if (all.empty()) {
    std::cout << "no offenses\n";
  }
}

} // namespace

std::optional<std::int64_t> parse_cli_duration(const std::string& text) {
  std::int64_t number = 0;
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || number < 0 || text.empty()) {
    return std::nullopt;
  }
  static const std::map<std::string, std::int64_t, std::less<>> units{
      {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}};
  auto unit = units.find(std::string_view(rest, static_cast<std::size_t>(end - rest)));
  if (unit == units.end()) {
    return std::nullopt;
  }
  return number * unit->second;
}

int run_blacklist_command(const Config& config, const BlacklistCommand& command) {
  const std::string what = "blacklist " + command.command;
  std::string address;
  if (command.command == "add" || command.command == "remove" || command.command == "report") {
    auto parsed = client_address(command.address);
    if (!parsed) {
      return fail(what, "\"" + command.address + "\" is not an IP address");
    }
    address = *parsed;
  }
  auto store = open(config);
  if (!store) {
    return fail(what, store.error().message);
  }
  auto& offenders = store.value()->offenders();
  const std::int64_t now = mail::SystemClock().now_unix();
  if (command.command == "add") {
    return add(config, offenders, command, address, now);
  }
  if (command.command == "remove") {
    return remove(offenders, address);
  }
  if (command.command == "report") {
    return report(config, offenders, command, address, now);
  }
  if (command.command == "export") {
    return export_zone(config, offenders, command, now);
  }
  return list(offenders, command, now);
}

int run_offenders_command(const Config& config, const OffendersCommand& command) {
  std::string address;
  if (!command.address.empty()) {
    auto parsed = client_address(command.address);
    if (!parsed) {
      return fail("offenders", "\"" + command.address + "\" is not an IP address");
    }
    address = *parsed;
  }
  const std::int64_t now = mail::SystemClock().now_unix();
  std::int64_t since = 0;
  if (!command.since.empty()) {
    auto span = parse_cli_duration(command.since);
    if (!span) {
      return fail("offenders", "--since: \"" + command.since + "\" is not a duration");
    }
    since = now - *span;
  }
  auto store = open(config);
  if (!store) {
    return fail("offenders", store.error().message);
  }
  auto all = admin::gather_evidence(store.value()->offenders(), address, since, now);
  if (!all) {
    return fail("offenders", all.error().message);
  }
  print_evidence(all.value(), command.json);
  return 0;
}

} // namespace backstop::app
