// verify_command: recipient verification from the command line.
#include "app/verify_command.hpp"

#include "admin/control_socket.hpp"
#include "app/logging.hpp"
#include "app/state_options.hpp"
#include "app/time_format.hpp"
#include "app/verification.hpp"
#include "dns/resolver.hpp"
#include "smtp/address_parser.hpp"
#include "smtp/transport.hpp"
#include "state/store.hpp"

#include <iostream>

namespace backstop::app {

using nlohmann::json;

namespace {

json entry_json(const state::VerifyEntry& e) {
  return json{{"address", e.address},
              {"result", state::to_string(e.result)},
              {"reply", e.reply},
              {"checked_at", e.checked_at},
              {"expires_at", e.expires_at}};
}

mail::Result<std::unique_ptr<state::Store>> open(const Config& config) {
  return state::open_store(store_options(config.state));
}

const char* result_name(policy::ProbeResult r) {
  switch (r) {
  case policy::ProbeResult::Valid:
    return "valid";
  case policy::ProbeResult::Invalid:
    return "invalid";
  case policy::ProbeResult::Unknown:
    break;
  }
  return "unknown";
}

asio::awaitable<void> probe_into(delivery::CalloutClient& callout, mail::Address who,
                                 policy::ProbeAnswer& answer) {
  answer = co_await callout.probe(std::move(who));
}

struct LiveCallout {
  policy::ProbeAnswer answer;
  std::vector<delivery::CalloutClient::SenderRefusal> null_sender_refusals;
};

// One callout on a private event loop, as the server would make it.
mail::Result<LiveCallout> live_callout(const Config& config, const mail::Address& who) {
  asio::io_context loop;
  mail::SystemClock clock;
  auto resolver = dns::Resolver::create(loop.get_executor(), resolver_options(config), clock);
  if (!resolver) {
    return resolver.error();
  }
  auto log = make_logger("warn");
  auto router = make_router(config, *resolver.value(), log);
  auto tls = smtp::make_client_tls_context();
  auto options = callout_options(config);
  options.client.tls_context = tls.get();
  delivery::CalloutClient callout(loop, *router, std::move(options), log);
  policy::ProbeAnswer answer;
  asio::co_spawn(loop, probe_into(callout, who, answer), [&](std::exception_ptr) {
    callout.stop();
    loop.stop();
  });
  loop.run();
  return LiveCallout{answer, callout.null_sender_refusals()};
}

// What to tell the operator about a primary that refuses the null sender.
std::string null_sender_warning(const delivery::CalloutClient::SenderRefusal& r) {
  if (!r.fallback.empty()) {
    return r.host + " refuses MAIL FROM:<> (" + r.reply + "): callouts to it use [verify] " +
           "fallback_sender <" + r.fallback + "> instead";
  }
  return r.host + " refuses MAIL FROM:<> (" + r.reply +
         "): callouts cannot verify its recipients; set [verify] sender to an address it "
         "accepts";
}

void print_entry(const char* label, const state::VerifyEntry& e) {
  std::cout << label << e.address << " " << state::to_string(e.result) << ", checked "
            << local_time(e.checked_at) << ", expires " << local_time(e.expires_at) << ": "
            << e.reply << "\n";
}

} // namespace

int run_verify_command(const Config& config, const VerifyCommand& command) {
  auto parsed = smtp::parse_path("<" + command.address + ">", {true, false});
  if (!std::holds_alternative<mail::Address>(parsed)) {
    std::cerr << "backstop verify: \"" << command.address << "\" is not an address\n";
    return 1;
  }
  const auto who = std::get<mail::Address>(parsed);
  auto store = open(config);
  if (!store) {
    std::cerr << "backstop verify: " << store.error().message << "\n";
    return 1;
  }
  const auto key = policy::cache_key(who);
  auto cached = store.value()->verify().get_verify(key, mail::SystemClock().now_unix());
  json out{{"address", key}, {"cached", nullptr}, {"callout", nullptr}};
  if (cached && cached.value()) {
    out["cached"] = entry_json(*cached.value());
  }
  if (command.callout) {
    auto live = live_callout(config, who);
    if (!live) {
      std::cerr << "backstop verify: " << live.error().message << "\n";
      return 1;
    }
    const auto& answer = live->answer;
    out["callout"] = json{
        {"result", result_name(answer.result)}, {"code", answer.code}, {"reply", answer.reply}};
    json refusals = json::array();
    for (const auto& r : live->null_sender_refusals) {
      refusals.push_back(
          json{{"host", r.host}, {"reply", r.reply}, {"warning", null_sender_warning(r)}});
    }
    out["callout"]["null_sender_refused"] = refusals;
  }
  if (command.json) {
    std::cout << admin::dump_json(out, 2) << "\n";
    return 0;
  }
  std::cout << "<" << key << ">\n";
  if (cached && cached.value()) {
    print_entry("  cache:   ", *cached.value());
  } else {
    std::cout << "  cache:   nothing remembered\n";
  }
  if (command.callout) {
    std::cout << "  callout: " << out["callout"].value("result", "") << ": "
              << out["callout"].value("reply", "") << "\n";
    for (const auto& r : out["callout"]["null_sender_refused"]) {
      std::cout << "  warning: " << r.value("warning", "") << "\n";
    }
  }
  return 0;
}

int run_cache_command(const Config& config, const CacheCommand& command) {
  if (command.command == "flush") {
    const std::string pattern = policy::normalize_cache_pattern(command.pattern);
    const json request{{"command", "cache_flush"}, {"pattern", pattern}};
    auto answer = admin::control_request(config.control_socket(), request);
    json result;
    if (answer) {
      result = *answer;
    } else if (auto store = open(config); !store) {
      result = json{{"ok", false}, {"error", store.error().message}};
    } else if (auto erased = store.value()->verify().erase_verify(pattern); !erased) {
      result = json{{"ok", false}, {"error", erased.error().message}};
    } else {
      result = json{{"ok", true}, {"flushed", erased.value()}};
    }
    if (command.json) {
      std::cout << admin::dump_json(result, 2) << "\n";
    } else if (result.value("ok", false)) {
      std::cout << "cache flush: " << result.value("flushed", 0) << " entries removed\n";
    } else {
      std::cerr << "backstop cache flush: " << result.value("error", "failed") << "\n";
    }
    return result.value("ok", false) ? 0 : 1;
  }
  auto store = open(config);
  if (!store) {
    std::cerr << "backstop cache list: " << store.error().message << "\n";
    return 1;
  }
  auto entries = store.value()->verify().list_verify(mail::SystemClock().now_unix());
  if (!entries) {
    std::cerr << "backstop cache list: " << entries.error().message << "\n";
    return 1;
  }
  if (command.json) {
    json list = json::array();
    for (const auto& e : entries.value()) {
      list.push_back(entry_json(e));
    }
    std::cout << admin::dump_json(list, 2) << "\n";
    return 0;
  }
  for (const auto& e : entries.value()) {
    print_entry("", e);
  }
  std::cout << "-- " << entries.value().size() << " entries\n";
  return 0;
}

} // namespace backstop::app
