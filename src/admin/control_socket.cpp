// control_socket: unix-socket request/answer for queue administration.
#include "admin/control_socket.hpp"

#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace backstop::admin {

namespace {
constexpr std::size_t max_request = 64 * 1024;

bool make_address(const std::filesystem::path& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof addr.sun_path) {
    return false;
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  return true;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads up to the first newline (or EOF); gives up past limit or after timeout_ms of silence.
std::optional<std::string> read_line(int fd, std::size_t limit, int timeout_ms) {
  std::string out;
  char buf[4096];
  while (out.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      return std::nullopt;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      return std::nullopt;
    }
  }
  return out;
}
} // namespace

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

ControlServer::~ControlServer() { stop(); }

mail::Status ControlServer::start(const std::filesystem::path& path, RequestHandler handler) {
  path_ = path;
  handler_ = std::move(handler);
  sockaddr_un addr{};
  if (!make_address(path, addr)) {
    return mail::make_error("control socket path too long: " + path.string());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    return mail::make_error(std::string("control socket: ") + std::strerror(errno));
  }
  ::unlink(path.c_str()); // a stale socket from a crash; the spool lock proves we own it
  const mode_t old = ::umask(0077);
  const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(listen_fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return mail::make_error("cannot listen on control socket " + path.string() + ": " + why);
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "bs-control");
    serve();
  });
  return mail::Ok{};
}

void ControlServer::stop() {
  if (listen_fd_ < 0) {
    return;
  }
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) {
    thread_.join();
  }
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(path_.c_str());
}

void ControlServer::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    answer(fd);
    ::close(fd);
  }
}

void ControlServer::answer(int fd) {
  auto line = read_line(fd, max_request, 5000);
  if (!line) {
    return;
  }
  nlohmann::json response;
  try {
    response = handler_(nlohmann::json::parse(*line));
  } catch (const std::exception& e) {
    response = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
  }
  write_all(fd, dump_json(response) + "\n");
}

std::optional<nlohmann::json> control_request(const std::filesystem::path& path,
                                              const nlohmann::json& request) {
  sockaddr_un addr{};
  if (!make_address(path, addr)) {
    return std::nullopt;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  // A server listens: whatever happens now is its answer, never a reason to act without it.
  nlohmann::json out{{"ok", false},
                     {"error", "the server on " + path.string() + " did not answer"}};
  if (write_all(fd, dump_json(request) + "\n")) {
    if (auto line = read_line(fd, 1ull << 31, 60000)) {
      auto parsed = nlohmann::json::parse(*line, nullptr, false);
      if (parsed.is_object()) {
        out = std::move(parsed);
      }
    }
  }
  ::close(fd);
  return out;
}

} // namespace backstop::admin
