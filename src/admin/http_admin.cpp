#include "admin/http_admin.hpp"

#include "admin/control_socket.hpp"
#include "admin/status_page.hpp"

#include <httplib.h>

namespace backstop::admin {

namespace {

constexpr std::size_t max_request_body = 64 * 1024;
constexpr int request_timeout_seconds = 10;
constexpr std::size_t admin_threads = 4;

std::vector<std::string> path_parts(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < path.size()) {
    const auto slash = path.find('/', at);
    const auto end = slash == std::string::npos ? path.size() : slash;
    if (end > at) {
      parts.push_back(path.substr(at, end - at));
    }
    at = end + 1;
  }
  return parts;
}

// The header for scripts; ?token= for a browser opening the status page, whose script then
// sends the header.
bool authorised(const httplib::Request& request, const std::string& token) {
  return token.empty() || request.get_header_value("Authorization") == "Bearer " + token ||
         request.get_param_value("token") == token;
}

void send_json(httplib::Response& response, const nlohmann::json& answer) {
  const bool ok = answer.value("ok", false);
  const std::string error = ok ? "" : answer.value("error", "");
  response.status = ok ? 200 : (error.find("no message") != std::string::npos ? 404 : 400);
  response.set_content(dump_json(answer, 2) + "\n", "application/json");
}

std::string param(const ApiParams& params, const std::string& key) {
  const auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

// GET requests of one word: /api/stats, /api/primary, /api/blacklist, ...
nlohmann::json read_request(const std::string& what, const ApiParams& params) {
  if (what == "stats" || what == "status" || what == "primary" || what == "blacklist" ||
      what == "config") {
    return {{"command", what}};
  }
  if (what == "offenders") {
    return {{"command", what},
            {"address", param(params, "address")},
            {"since", param(params, "since")}};
  }
  return nullptr;
}

} // namespace

nlohmann::json api_request(const std::string& method, const std::string& path,
                           const ApiParams& params) {
  const auto parts = path_parts(path);
  if (parts.size() < 2 || parts[0] != "api") {
    return nullptr;
  }
  const bool get = method == "GET";
  const bool post = method == "POST";
  if (get && parts.size() == 2) {
    if (auto request = read_request(parts[1], params); !request.is_null()) {
      return request;
    }
  }
  if (get && parts.size() == 3 && parts[1] == "primary" && parts[2] == "history") {
    return {{"command", "primary_history"},
            {"domain", param(params, "domain")},
            {"since", param(params, "since")},
            {"limit", param(params, "limit")}};
  }
  if (parts[1] == "queue") {
    if (get && parts.size() == 2) {
      return {{"command", "list"}};
    }
    if (get && parts.size() == 3) {
      return {{"command", "show"}, {"id", parts[2]}};
    }
    if (post && parts.size() == 4 &&
        (parts[3] == "hold" || parts[3] == "release" || parts[3] == "delete")) {
      return {{"command", parts[3]}, {"id", parts[2]}};
    }
    return nullptr;
  }
  if (post && parts.size() == 2 && parts[1] == "flush") {
    return {{"command", "flush"}, {"domain", param(params, "domain")}};
  }
  if (post && parts.size() == 3 && parts[1] == "cache" && parts[2] == "flush") {
    return {{"command", "cache_flush"}, {"pattern", param(params, "pattern")}};
  }
  return nullptr;
}

HttpAdmin::HttpAdmin() = default;

HttpAdmin::~HttpAdmin() { stop(); }

void HttpAdmin::route() {
  server_->set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (authorised(request, token_)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        response.status = 401;
        response.set_header("WWW-Authenticate", "Bearer");
        response.set_content("a bearer token is required\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      });
  server_->Get("/", [](const httplib::Request&, httplib::Response& response) {
    const auto html = status_page_html();
    response.set_content(html.data(), html.size(), "text/html; charset=utf-8");
  });
  server_->Get("/assets/chart.js", [](const httplib::Request&, httplib::Response& response) {
    const auto js = chart_js();
    if (js.empty()) {
      response.status = 404;
      return;
    }
    response.set_header("Cache-Control", "max-age=86400");
    response.set_content(js.data(), js.size(), "text/javascript");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  const auto api = [this](const httplib::Request& request, httplib::Response& response) {
    ApiParams params;
    for (const auto& [key, value] : request.params) {
      params.emplace(key, value); // the first of a repeated parameter
    }
    auto control = api_request(request.method, request.path, params);
    if (control.is_null()) {
      response.status = 404;
      response.set_content(dump_json({{"ok", false}, {"error", "no such endpoint"}}, 2) + "\n",
                           "application/json");
      return;
    }
    send_json(response, handlers_.control(control));
  };
  server_->Get(R"(/api/.*)", api);
  server_->Post(R"(/api/.*)", api);
}

mail::Status HttpAdmin::start(const HttpAdminOptions& options, HttpAdminHandlers handlers) {
  handlers_ = std::move(handlers);
  token_ = options.token;
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(admin_threads); };
  server_->set_payload_max_length(max_request_body);
  server_->set_read_timeout(request_timeout_seconds, 0);
  server_->set_write_timeout(request_timeout_seconds, 0);
  server_->set_keep_alive_timeout(2); // an idle keep-alive client holds a pool thread
  // httplib's default adds SO_REUSEPORT, which would let a second server share the port.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  route();
  if (options.port == 0) {
    port_ = server_->bind_to_any_port(options.host);
  } else if (server_->bind_to_port(options.host, options.port)) {
    port_ = options.port;
  }
  if (port_ <= 0) {
    return mail::make_error("admin.listen " + options.host + ":" + std::to_string(options.port) +
                            ": cannot bind");
  }
  thread_ = std::thread([server = server_.get()] {
    pthread_setname_np(pthread_self(), "bs-admin-http");
    server->listen_after_bind();
  });
  return mail::Ok{};
}

void HttpAdmin::stop() {
  if (server_) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

} // namespace backstop::admin
