// heartbeat_command: a small SMTP client with one deadline for the whole conversation.
#include "app/heartbeat_command.hpp"

#include "smtp/asio_tokens.hpp"

#include <algorithm>
#include <asio.hpp>
#include <charconv>
#include <iostream>
#include <optional>
#include <unistd.h>

namespace backstop::app {

namespace {

struct Target {
  std::string host;
  std::string port;
};

std::optional<Target> parse_target(const std::string& text) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) {
      return std::nullopt;
    }
    return Target{text.substr(1, close - 1), text.substr(close + 2)};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || text.find(':') != colon) {
    return std::nullopt;
  }
  return Target{text.substr(0, colon), text.substr(colon + 1)};
}

std::string this_host() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
}

class Conversation {
public:
  Conversation(asio::io_context& io, std::chrono::seconds timeout)
      : socket_(io), resolver_(io), deadline_(io) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([this](std::error_code ec) {
      if (!ec) {
        expired_ = true;
        socket_.close();
        resolver_.cancel();
      }
    });
  }
  bool expired() const { return expired_; }
  void done() { deadline_.cancel(); }

  asio::awaitable<std::string> connect(const Target& target) {
    auto [ec, endpoints] =
        co_await resolver_.async_resolve(target.host, target.port, smtp::use_tuple);
    if (ec) {
      co_return "cannot resolve " + target.host + ": " + ec.message();
    }
    auto [cec, endpoint] = co_await asio::async_connect(socket_, endpoints, smtp::use_tuple);
    if (cec) {
      co_return "cannot connect to " + target.host + ":" + target.port + ": " + cec.message();
    }
    co_return "";
  }

  // The whole (possibly multi-line) reply; code 0 when the connection failed.
  asio::awaitable<std::pair<int, std::string>> reply() {
    for (;;) {
      const auto end = input_.find("\r\n");
      if (end != std::string::npos) {
        const std::string line = input_.substr(0, end);
        input_.erase(0, end + 2);
        text_ += (text_.empty() ? "" : " / ") + line;
        if (line.size() < 4 || line[3] != '-') {
          int code = 0;
          std::from_chars(line.data(), line.data() + std::min<std::size_t>(3, line.size()), code);
          auto out = std::make_pair(code, text_);
          text_.clear();
          co_return out;
        }
        continue;
      }
      char buf[1024];
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), smtp::use_tuple);
      if (ec) {
        co_return std::make_pair(0, std::string(expired_ ? "timed out" : ec.message()));
      }
      input_.append(buf, n);
    }
  }

  asio::awaitable<std::pair<int, std::string>> command(std::string line) {
    line += "\r\n";
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), smtp::use_tuple);
    if (ec) {
      co_return std::make_pair(0, std::string(expired_ ? "timed out" : ec.message()));
    }
    co_return co_await reply();
  }

private:
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer deadline_;
  bool expired_ = false;
  std::string input_;
  std::string text_;
};

// An empty string when every domain's ETRN was accepted; else what went wrong.
asio::awaitable<std::string> converse(Conversation& c, Target target, HeartbeatCommand command) {
  if (auto failed = co_await c.connect(target); !failed.empty()) {
    co_return failed;
  }
  auto greeting = co_await c.reply();
  if (greeting.first != 220) {
    co_return "greeting: " + greeting.second;
  }
  auto ehlo = co_await c.command("EHLO " + command.helo);
  if (ehlo.first != 250) {
    co_return "EHLO: " + ehlo.second;
  }
  std::string failures;
  for (const auto& domain : command.domains) {
    auto etrn = co_await c.command("ETRN " + domain);
    if (etrn.first != 250 && etrn.first != 251 && etrn.first != 253) {
      failures += (failures.empty() ? "" : "; ") + ("ETRN " + domain + ": " + etrn.second);
      if (etrn.first == 0) {
        co_return failures;
      }
    } else {
      std::cout << "ETRN " << domain << ": " << etrn.second << "\n";
    }
  }
  co_await c.command("QUIT");
  co_return failures;
}

} // namespace

int run_heartbeat_command(const HeartbeatCommand& given) {
  auto command = given;
  const auto target = parse_target(command.to);
  if (!target) {
    std::cerr << "heartbeat: --to must be HOST:PORT or [IPv6]:PORT, not \"" << command.to << "\"\n";
    return 2;
  }
  if (command.helo.empty()) {
    command.helo = this_host();
  }
  asio::io_context io;
  Conversation conversation(io, command.timeout);
  std::optional<std::string> outcome;
  asio::co_spawn(io, converse(conversation, *target, command),
                 [&](std::exception_ptr e, std::string failed) {
                   outcome = e ? std::string("heartbeat failed by an exception") : failed;
                   conversation.done();
                 });
  io.run();
  if (!outcome || !outcome->empty()) {
    std::cerr << "heartbeat to " << command.to << ": "
              << (conversation.expired()
                      ? "timed out after " + std::to_string(command.timeout.count()) + "s: "
                      : "")
              << outcome.value_or("no answer") << "\n";
    return 1;
  }
  return 0;
}

} // namespace backstop::app
