// control_socket: a local (unix) socket on which a running server answers queue requests,
// one JSON line in, one JSON line out. It runs on its own thread, never on an event loop,
// because requests wait for the spool's commit. Only the owner (mode 0600) may connect.
#pragma once

#include "mail/result.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

namespace backstop::admin {

using RequestHandler = std::function<nlohmann::json(const nlohmann::json&)>;

class ControlServer {
public:
  ControlServer() = default;
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  ~ControlServer();

  mail::Status start(const std::filesystem::path& path, RequestHandler handler);
  void stop();

private:
  void serve();
  void answer(int fd);

  std::filesystem::path path_;
  RequestHandler handler_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Client side for the CLI: nullopt when no server listens on path; an {"ok": false} answer
// when one listens but does not answer.
std::optional<nlohmann::json> control_request(const std::filesystem::path& path,
                                              const nlohmann::json& request);

// JSON text that never throws on message bytes that are not UTF-8.
std::string dump_json(const nlohmann::json& value, int indent = -1);

} // namespace backstop::admin
