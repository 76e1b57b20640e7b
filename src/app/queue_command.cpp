// queue_command: queue administration from the command line.
#include "app/queue_command.hpp"

#include "admin/base64.hpp"
#include "admin/control_socket.hpp"
#include "admin/queue_admin.hpp"
#include "app/time_format.hpp"
#include "queue/spool.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>

namespace backstop::app {

using nlohmann::json;

namespace {

json request_for(const QueueCommand& c) {
  json request{{"command", c.command}};
  if (c.command == "flush") {
    request["domain"] = c.argument;
  } else if (!c.argument.empty()) {
    request["id"] = c.argument;
  }
  return request;
}

// sysexits EX_UNAVAILABLE: what postqueue -f exits with when the mail system is down.
constexpr int exit_no_server = 69;

// Delivery runs only inside `backstop serve`; the CLI never delivers on its own.
json no_server_to_flush(const Config& config) {
  return json{{"ok", false},
              {"error", "no backstop server is running for " + config.queue.dir.string() +
                            "; nothing was delivered. Start `backstop serve` and it delivers "
                            "what waits (a flush then asks it to try at once)"}};
}

// Without a server, a read-only look still works if some other process holds the lock.
// A queue no server ever created is empty: nothing to change, so nothing is created.
json execute_locally(const Config& config, const json& request) {
  queue::SpoolOptions options;
  options.dir = config.queue.dir;
  options.segment_size = config.queue.segment_size;
  const std::string command = request.value("command", "");
  std::error_code ec;
  const bool never_served = !std::filesystem::exists(options.dir / "segments", ec);
  const bool read_only = command == "list" || command == "show" || never_served;
  auto spool = read_only ? queue::Spool::open_read_only(options) : queue::Spool::open(options);
  if (!spool) {
    return json{{"ok", false}, {"error", spool.error().message}};
  }
  auto answer = admin::execute_queue_request(*spool.value(), request);
  spool.value()->close();
  return answer;
}

void print_list(const json& answer) {
  const auto& messages = answer["messages"];
  if (messages.empty()) {
    std::cout << "Mail queue is empty\n";
    return;
  }
  std::printf("%-16s %9s  %-19s  %s\n", "-Queue ID-", "--Size--", "----Arrival Time---",
              "-Sender/Recipient-------");
  std::uint64_t total = 0;
  for (const auto& m : messages) {
    const bool held = m.value("status", "") == "held";
    total += m.value("size", 0ull);
    std::printf("%-16s%c%9llu  %-19s  %s\n", m.value("id", "").c_str(), held ? '!' : ' ',
                static_cast<unsigned long long>(m.value("size", 0ull)),
                local_time(m.value("arrival", 0ll)).c_str(),
                m.value("sender", "").empty() ? "<>" : m.value("sender", "").c_str());
    for (const auto& r : m["recipients"]) {
      std::string detail = r.value("status", "");
      if (detail == "pending") {
        detail += ", attempts " + std::to_string(r.value("attempts", 0)) + ", next " +
                  local_time(r.value("next_attempt", 0ll));
      }
      if (!r.value("last_error", "").empty()) {
        detail += ", last error: " + r.value("last_error", "");
      }
      std::printf("%48s%s (%s)\n", "", r.value("address", "").c_str(), detail.c_str());
    }
  }
  std::printf("-- %llu Kbytes in %zu Request%s.\n",
              static_cast<unsigned long long>((total + 1023) / 1024), messages.size(),
              messages.size() == 1 ? "" : "s");
}

void print_text(const QueueCommand& c, const json& answer) {
  if (c.command == "list") {
    print_list(answer);
  } else if (c.command == "show") {
    const auto& m = answer["message"];
    std::cout << "id: " << m.value("id", "") << "\nstatus: " << m.value("status", "")
              << "\narrival: " << local_time(m.value("arrival", 0ll)) << "\nsender: <"
              << m.value("sender", "") << ">"
              << (m.value("sender_verified", false) ? " (verified)" : "") << "\nclient: ["
              << m.value("client_ip", "") << "] helo " << m.value("helo", "") << "\n";
    for (const auto& r : m["recipients"]) {
      std::cout << "recipient: <" << r.value("address", "") << "> " << r.value("status", "")
                << "\n";
    }
    // The exact stored bytes, even when they are not UTF-8.
    const auto exact = admin::base64_decode(answer.value("body_base64", ""));
    std::cout << "\n" << (exact ? *exact : answer.value("body", ""));
  } else if (c.command == "flush") {
    std::cout << "flush" << (c.argument.empty() ? "" : " " + c.argument)
              << ": delivery started for " << answer.value("messages", 0) << " waiting messages\n";
  } else {
    std::cout << c.command << " " << c.argument << ": ok\n";
  }
}

} // namespace

int run_queue_command(const Config& config, const QueueCommand& command) {
  const json request = request_for(command);
  auto answer = admin::control_request(config.control_socket(), request);
  const bool no_server_flush = !answer && command.command == "flush";
  json result = answer            ? *answer
                : no_server_flush ? no_server_to_flush(config)
                                  : execute_locally(config, request);
  const int failure = no_server_flush ? exit_no_server : 1;
  if (command.json) {
    std::cout << admin::dump_json(result, 2) << "\n";
    return result.value("ok", false) ? 0 : failure;
  }
  if (!result.value("ok", false)) {
    std::cerr << "backstop queue " << command.command << ": " << result.value("error", "failed")
              << "\n";
    return failure;
  }
  print_text(command, result);
  return 0;
}

} // namespace backstop::app
