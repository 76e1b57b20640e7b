// contact_commands: both open the state store directly (SQLite in WAL mode: the server may
// be running meanwhile).
#include "app/contact_commands.hpp"

#include "admin/control_socket.hpp"
#include "app/ingest.hpp"
#include "app/state_options.hpp"
#include "app/time_format.hpp"
#include "mail/ip_address.hpp"
#include "state/store.hpp"

#include <asio/ip/address.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace backstop::app {

using nlohmann::json;

namespace {

mail::Result<std::unique_ptr<state::Store>> open(const Config& config) {
  return state::open_store(store_options(config.state));
}

int run_ingest(const Config& config, const ContactCommands& c) {
  IngestOptions options;
  options.format = log_format_from(c.format).value_or(LogFormat::Postfix);
  options.host = c.host;
  options.keep = config.state.contacts_keep.count();
  if (options.format == LogFormat::Exim && options.host.empty()) {
    std::cerr << "backstop ingest: --host is required for Exim logs (they do not name the "
                 "host)\n";
    return 2;
  }
  auto store = open(config);
  if (!store) {
    std::cerr << "backstop ingest: " << store.error().message << "\n";
    return 1;
  }
  mail::SystemClock clock;
  auto& contacts = store.value()->contacts();
  const bool stream = c.file == "-";
  if (!stream && c.from_start) {
    // Forget the position: the file is read again from its first line.
    std::error_code ec;
    const auto key = std::filesystem::absolute(c.file, ec).lexically_normal().string();
    if (auto done = contacts.record_ingested({}, options.keep, {key, 0, 0, 0}); !done) {
      std::cerr << "backstop ingest: " << done.error().message << "\n";
      return 1;
    }
  }
  auto counts = stream ? ingest_stream(contacts, STDIN_FILENO, options, clock)
                       : ingest_file(contacts, c.file, options, clock);
  if (!counts) {
    std::cerr << "backstop ingest: " << counts.error().message << "\n";
    return 1;
  }
  const auto& n = counts.value();
  std::cout << "ingest " << (stream ? "standard input" : c.file) << ": " << n.lines << " lines, "
            << n.contacts << " contacts recorded, " << n.other << " other, " << n.malformed
            << " malformed (skipped)";
  if (!stream) {
    std::cout << "; read from offset " << n.start << " to " << n.offset;
  }
  std::cout << "\n";
  return 0;
}

std::string canonical_address(const std::string& text) {
  std::error_code ec;
  const auto parsed = asio::ip::make_address(text, ec);
  return ec ? text : mail::unmapped(parsed).to_string();
}

int run_contacts(const Config& config, const ContactCommands& c) {
  auto store = open(config);
  if (!store) {
    std::cerr << "backstop contacts: " << store.error().message << "\n";
    return 1;
  }
  const std::string address = canonical_address(c.address);
  auto rows = store.value()->contacts().contacts(address, mail::SystemClock().now_unix());
  if (!rows) {
    std::cerr << "backstop contacts: " << rows.error().message << "\n";
    return 1;
  }
  if (c.json) {
    json list = json::array();
    for (const auto& r : rows.value()) {
      list.push_back({{"host", r.host},
                      {"source", r.source},
                      {"first_at", r.first_at},
                      {"last_at", r.last_at},
                      {"count", r.count},
                      {"expires_at", r.expires_at}});
    }
    std::cout << admin::dump_json(json{{"address", address}, {"contacts", list}}, 2) << "\n";
    return 0;
  }
  if (rows.value().empty()) {
    std::cout << address << ": no contacts remembered\n";
    return 0;
  }
  std::cout << address << " contacted:\n";
  for (const auto& r : rows.value()) {
    std::cout << "  " << r.host << "  last " << local_time(r.last_at) << "  first "
              << local_time(r.first_at) << "  " << r.count << "x  (" << r.source << ")\n";
  }
  return 0;
}

} // namespace

void add_contact_commands(CLI::App& app, ContactCommands& c) {
  c.ingest = app.add_subcommand(
      "ingest", "record the client contacts that a primary MX's mail log shows (FILE or -)");
  c.ingest->add_option("--format", c.format, "postfix or exim")
      ->required()
      ->check(CLI::IsMember({"postfix", "exim"}));
  c.ingest->add_option("--host", c.host,
                       "the MX host the log belongs to (default for Postfix: each line's host)");
  c.ingest->add_flag("--from-start", c.from_start, "forget the remembered position of FILE");
  c.ingest->add_option("FILE", c.file, "the mail log, or - for standard input")->required();
  c.contacts = app.add_subcommand("contacts", "which MX hosts an address contacted, and when");
  c.contacts->add_option("ADDRESS", c.address, "the client's IP address")->required();
  c.contacts->add_flag("--json", c.json, "print JSON instead of text");
  for (auto* sub : {c.ingest, c.contacts}) {
    sub->fallthrough();
  }
}

std::optional<int> run_contact_commands(const Config& config, const ContactCommands& c) {
  if (c.ingest != nullptr && c.ingest->parsed()) {
    return run_ingest(config, c);
  }
  if (c.contacts != nullptr && c.contacts->parsed()) {
    return run_contacts(config, c);
  }
  return std::nullopt;
}

} // namespace backstop::app
