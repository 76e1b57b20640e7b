// loopback_server: a real smtp::Server on 127.0.0.1 with a real spool in a temporary
// directory, run on a thread of its own: what the session-level tests talk to over a socket.
#pragma once

#include "policy/core_checks.hpp"
#include "policy/pipeline_slot.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"

#include <asio.hpp>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace backstop::smtp::testing {

inline std::shared_ptr<const policy::Pipeline> relay_for_example_test() {
  return std::make_shared<const policy::Pipeline>(policy::relay_only({"example.test"}));
}

class LoopbackServer {
public:
  explicit LoopbackServer(std::shared_ptr<const policy::Pipeline> pipeline)
      : slot_(std::move(pipeline)) {}
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  ~LoopbackServer() { stop(); }

  // Call from SetUp (it asserts); `tune` adjusts the session options before the server exists.
  void start(const std::string& name, const std::function<void(SessionOptions&)>& tune = {}) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           (name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    queue::SpoolOptions spool_options;
    spool_options.dir = dir_;
    spool_ = std::move(queue::Spool::open(spool_options).value());
    options_.hostname = "mx2.example.test";
    options_.postmaster = {"postmaster", "example.test"};
    options_.pipeline = &slot_;
    options_.spool = spool_.get();
    options_.clock = &clock_;
    if (tune) {
      tune(options_);
    }
    server_ = std::make_unique<Server>(options_, limiter_, std::vector<asio::io_context*>{&io_});
    ASSERT_TRUE(server_->listen({{asio::ip::make_address("127.0.0.1"), 0}}).ok());
    endpoint_ = server_->bound().front();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void stop() {
    if (!thread_.joinable()) {
      return;
    }
    io_.stop();
    thread_.join();
    server_.reset();
    spool_->close();
    std::filesystem::remove_all(dir_);
  }

  Server& server() { return *server_; }
  queue::Spool& spool() { return *spool_; }
  // Kept from start: a drained server has no bound sockets left.
  asio::ip::tcp::endpoint endpoint() const { return endpoint_; }

private:
  std::filesystem::path dir_;
  asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<queue::Spool> spool_;
  policy::PipelineSlot slot_;
  mail::SystemClock clock_;
  ConnectionLimiter limiter_{100, 100};
  SessionOptions options_;
  std::unique_ptr<Server> server_;
  asio::ip::tcp::endpoint endpoint_;
};

// The last line of the next complete reply, without its CRLF.
inline std::string read_reply(asio::ip::tcp::socket& socket, asio::streambuf& in) {
  for (;;) {
    asio::read_until(socket, in, "\r\n");
    std::istream stream(&in);
    std::string line;
    std::getline(stream, line);
    if (line.size() >= 4 && line[3] == '-') {
      continue;
    }
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    return line;
  }
}

// Sends line (CRLF added; "" sends nothing, to read the greeting) and returns the reply.
inline std::string say(asio::ip::tcp::socket& socket, asio::streambuf& in,
                       const std::string& line) {
  if (!line.empty()) {
    asio::write(socket, asio::buffer(line + "\r\n"));
  }
  return read_reply(socket, in);
}

// The code of the reply to line.
inline int exchange(asio::ip::tcp::socket& socket, asio::streambuf& in, const std::string& line) {
  return std::stoi(say(socket, in, line).substr(0, 3));
}

} // namespace backstop::smtp::testing
