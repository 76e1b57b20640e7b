// http_admin: the admin HTTP listener ([admin] listen): /metrics for Prometheus, /api/... as
// JSON, the same requests the control socket answers, so the CLI and the API share one
// implementation. cpp-httplib (Debian's libcpp-httplib) parses HTTP on a thread pool of its
// own; nothing here runs on an event loop. A bearer token, when set, guards every path.
#pragma once
#include "mail/result.hpp"

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace httplib {
class Server;
} // namespace httplib

namespace backstop::admin {

struct HttpAdminOptions {
  std::string host = "127.0.0.1";
  int port = 8025;
  std::string token; // "" = no authentication (loopback only: the config enforces it)
};

struct HttpAdminHandlers {
  std::function<nlohmann::json(const nlohmann::json& request)> control; // the control protocol
  std::function<std::string()> metrics;                                 // Prometheus text
};

class HttpAdmin {
public:
  HttpAdmin();
  ~HttpAdmin();
  HttpAdmin(const HttpAdmin&) = delete;
  HttpAdmin& operator=(const HttpAdmin&) = delete;

  // Binds (an error names the address) and serves on a thread of its own.
  mail::Status start(const HttpAdminOptions& options, HttpAdminHandlers handlers);
  void stop();
  int port() const { return port_; }

private:
  void route();
  std::unique_ptr<httplib::Server> server_;
  HttpAdminHandlers handlers_;
  std::string token_;
  std::thread thread_;
  int port_ = 0;
};

// The query parameters a request names: domain, pattern, address, since, limit.
using ApiParams = std::map<std::string, std::string>;

// The control request a path stands for: GET /api/queue -> {"command": "list"}, POST
// /api/queue/ID/hold -> {"command": "hold", "id": ID}, GET /api/primary/history?domain=D ->
// {"command": "primary_history", "domain": D}, ...; null for a path that is none.
nlohmann::json api_request(const std::string& method, const std::string& path,
                           const ApiParams& params = {});

} // namespace backstop::admin
