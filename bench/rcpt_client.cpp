// rcpt_client: the lean twin of bench/rcpt_client.py, same arguments, same conversation, same
// JSON. The Python client burns about a core on a 2-core machine and competes with the server
// it measures; a real MX's clients are remote. This one is a single thread on epoll and does
// not allocate per RCPT (command lines built in a per-session buffer, latencies reserved).
//
// Every session connects and says EHLO before the clock starts; then each sends MAIL FROM once
// per transaction, one RCPT per address (waiting for the reply before the next), RSET and a new
// MAIL FROM every --rset-every recipients, and QUIT at the end. A session that has sent
// --per-connection RCPTs reconnects. Addresses are dealt round-robin to the sessions. Each RCPT
// is timed (CLOCK_MONOTONIC) from its send to its complete reply.
// Usage: rcpt_client HOST PORT ADDRESS_FILE [--sessions N] [--rset-every N]
//                    [--per-connection N] [--sender ADDR] [--helo NAME] [--timeout S]
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
  std::string host;
  int port = 0;
  std::string addresses;
  int sessions = 20;
  int rset_every = 50;
  int per_connection = 800;
  std::string sender = "bench@client.example";
  std::string helo = "bench.client.example";
  double timeout = 60.0;
};

struct Address {
  std::string address;
  int expected = 0;
};

enum class State { closed, greeting, ehlo, ready, mail, rcpt, rset, reconnect, quit };

constexpr std::size_t buffer_size = 65536;

struct Session {
  int index = 0;
  std::vector<const Address*> addresses;
  std::size_t next = 0;
  int fd = -1;
  std::array<char, buffer_size> buf{};
  std::size_t len = 0;
  State state = State::closed;
  int in_tx = 0;
  int on_conn = 0;
  std::int64_t sent_at = 0;
  const Address* current = nullptr;
  std::array<char, 1024> line{};

  bool done() const { return next >= addresses.size(); }
};

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

const char* state_name(State s) {
  switch (s) {
  case State::closed:
    return "closed";
  case State::greeting:
    return "greeting";
  case State::ehlo:
    return "EHLO";
  case State::ready:
    return "ready";
  case State::mail:
    return "MAIL";
  case State::rcpt:
    return "RCPT";
  case State::rset:
    return "RSET";
  case State::reconnect:
    return "RECONNECT";
  case State::quit:
    return "QUIT";
  }
  return "?";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += static_cast<char>(c); // bytes above 0x7f pass through (replies are ASCII)
    }
  }
  return out + "\"";
}

class Client {
public:
  Client(const Options& opts, const std::vector<Address>& addresses) : opts_(opts) {
    for (int i = 0; i < opts.sessions; ++i) {
      Session s;
      s.index = i;
      for (std::size_t k = i; k < addresses.size(); k += opts.sessions)
        s.addresses.push_back(&addresses[k]);
      if (!s.addresses.empty())
        sessions_.push_back(std::move(s));
    }
    latencies_.reserve(addresses.size());
    sockaddr_.sin_family = AF_INET;
    sockaddr_.sin_port = htons(static_cast<std::uint16_t>(opts.port));
    if (inet_pton(AF_INET, opts.host.c_str(), &sockaddr_.sin_addr) != 1)
      throw std::runtime_error("not an IPv4 address: " + opts.host);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0)
      throw std::runtime_error("epoll_create1 failed");
  }

  // The measured seconds, from the first MAIL to the last session closed.
  double run() {
    deadline_ = now_ns() + static_cast<std::int64_t>(opts_.timeout * 1e9);
    for (auto& s : sessions_)
      connect(s);
    loop([this] {
      return std::all_of(sessions_.begin(), sessions_.end(),
                         [](const Session& s) { return s.state == State::ready; });
    });
    running_ = true;
    const std::int64_t start = now_ns();
    for (auto& s : sessions_)
      start_transaction(s);
    loop([this] {
      return std::all_of(sessions_.begin(), sessions_.end(),
                         [](const Session& s) { return s.state == State::closed && s.done(); });
    });
    return static_cast<double>(now_ns() - start) / 1e9;
  }

  std::vector<std::int64_t> latencies_;
  std::array<long, 1000> codes_{};
  long wrong_ = 0;
  std::vector<std::string> examples_;
  long connections_ = 0;

private:
  void connect(Session& s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sockaddr_), sizeof sockaddr_) != 0 &&
        errno != EINPROGRESS)
      throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
    s.fd = fd;
    s.len = 0;
    s.state = State::greeting;
    s.in_tx = 0;
    s.on_conn = 0;
    ++connections_;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &s;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw std::runtime_error("epoll_ctl failed");
  }

  void close(Session& s) {
    if (s.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
      s.fd = -1;
    }
    s.state = State::closed;
  }

  // Sends the command in s.line[0, n) plus CRLF; a command line is far smaller than the socket
  // buffer, so one send writes it whole.
  void send(Session& s, std::size_t n, State next) {
    s.line[n] = '\r';
    s.line[n + 1] = '\n';
    s.sent_at = now_ns();
    ssize_t sent = ::send(s.fd, s.line.data(), n + 2, MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(n + 2))
      throw std::runtime_error("session " + std::to_string(s.index) + ": short send (" +
                               std::strerror(errno) + ")");
    s.state = next;
  }

  std::size_t compose(Session& s, const char* verb, const std::string& arg, const char* suffix) {
    std::size_t a = std::strlen(verb), b = arg.size(), c = std::strlen(suffix);
    if (a + b + c + 2 > s.line.size())
      throw std::runtime_error("command line too long: " + arg);
    std::memcpy(s.line.data(), verb, a);
    std::memcpy(s.line.data() + a, arg.data(), b);
    std::memcpy(s.line.data() + a + b, suffix, c);
    return a + b + c;
  }

  void start_transaction(Session& s) {
    s.in_tx = 0;
    send(s, compose(s, "MAIL FROM:<", opts_.sender, ">"), State::mail);
  }

  // After MAIL/RCPT/RSET succeeded: the next command of session s.
  void next_step(Session& s) {
    if (s.done()) {
      send(s, compose(s, "QUIT", "", ""), State::quit);
    } else if (s.on_conn >= opts_.per_connection) {
      send(s, compose(s, "QUIT", "", ""), State::reconnect);
    } else if (s.in_tx >= opts_.rset_every) {
      send(s, compose(s, "RSET", "", ""), State::rset);
    } else {
      s.current = s.addresses[s.next++];
      ++s.in_tx;
      ++s.on_conn;
      send(s, compose(s, "RCPT TO:<", s.current->address, ">"), State::rcpt);
    }
  }

  [[noreturn]] void fail(const Session& s, const char* what, const std::string& text) {
    throw std::runtime_error("session " + std::to_string(s.index) + ": " + what + " " +
                             json_string(text));
  }

  std::string reply_text(const Session& s) const {
    std::string text(s.buf.data(), s.len);
    auto first = text.find_first_not_of(" \t\r\n");
    auto last = text.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  }

  void on_reply(Session& s, int code, std::int64_t now) {
    switch (s.state) {
    case State::greeting:
      if (code != 220)
        fail(s, "greeting", reply_text(s));
      send(s, compose(s, "EHLO ", opts_.helo, ""), State::ehlo);
      break;
    case State::ehlo:
      if (code != 250)
        fail(s, "EHLO", reply_text(s));
      s.state = State::ready;
      if (running_)
        start_transaction(s);
      break;
    case State::mail:
      if (code != 250)
        fail(s, "MAIL", reply_text(s));
      next_step(s);
      break;
    case State::rcpt:
      latencies_.push_back(now - s.sent_at);
      ++codes_[static_cast<std::size_t>(code)];
      if (code != s.current->expected) {
        ++wrong_;
        if (examples_.size() < 5)
          examples_.push_back(s.current->address + " expected " +
                              std::to_string(s.current->expected) + ": " + reply_text(s));
      }
      if (code == 421) { // the server closes the session: go on with a new one
        close(s);
        connect(s);
        return;
      }
      next_step(s);
      break;
    case State::rset:
      if (code != 250)
        fail(s, "RSET", reply_text(s));
      start_transaction(s);
      break;
    case State::reconnect:
      close(s);
      connect(s);
      break;
    case State::quit:
      close(s);
      break;
    case State::ready:
    case State::closed:
      fail(s, "unexpected reply in state", state_name(s.state));
    }
  }

  // The code of a complete final reply at the end of the buffer (its last line "DDD text\r\n"), or
  // 0.
  int final_code(const Session& s) const {
    if (s.len < 6 || s.buf[s.len - 2] != '\r' || s.buf[s.len - 1] != '\n')
      return 0;
    std::size_t begin = s.len - 2;
    while (begin > 0 && !(begin >= 2 && s.buf[begin - 2] == '\r' && s.buf[begin - 1] == '\n'))
      --begin;
    const char* l = s.buf.data() + begin;
    if (s.len - 2 - begin < 4)
      return 0;
    for (int i = 0; i < 3; ++i)
      if (l[i] < '0' || l[i] > '9')
        return 0;
    if (l[3] != ' ')
      return 0;
    for (const char* p = l + 4; p < s.buf.data() + s.len - 2; ++p)
      if (*p == '\r' || *p == '\n')
        return 0;
    return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  }

  void on_readable(Session& s) {
    const std::int64_t now = now_ns();
    if (s.len == s.buf.size())
      fail(s, "reply longer than the buffer in state", state_name(s.state));
    ssize_t n = recv(s.fd, s.buf.data() + s.len, s.buf.size() - s.len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return;
    if (n <= 0) {
      if (s.state == State::quit || s.state == State::reconnect) {
        on_reply(s, 221, now);
        return;
      }
      std::string why = n < 0 ? std::strerror(errno) : "closed by the server";
      std::size_t tail = std::min<std::size_t>(s.len, 200);
      throw std::runtime_error("session " + std::to_string(s.index) +
                               ": connection lost in state " + state_name(s.state) + " (" + why +
                               "); buffer " +
                               json_string(std::string(s.buf.data() + s.len - tail, tail)));
    }
    s.len += static_cast<std::size_t>(n);
    int code = final_code(s);
    if (code == 0)
      return;
    on_reply(s, code, now);
    s.len = 0; // the reply is consumed (a reconnect has emptied it already)
  }

  template <typename Until> void loop(Until until) {
    std::array<epoll_event, 64> events{};
    while (!until()) {
      std::int64_t left = deadline_ - now_ns();
      if (left <= 0)
        throw std::runtime_error("timed out");
      int wait_ms = static_cast<int>(std::min<std::int64_t>(1000, left / 1000000 + 1));
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        throw std::runtime_error("epoll_wait failed");
      for (int i = 0; i < n; ++i)
        on_readable(*static_cast<Session*>(events[i].data.ptr));
    }
  }

  const Options& opts_;
  std::vector<Session> sessions_;
  sockaddr_in sockaddr_{};
  int epoll_ = -1;
  std::int64_t deadline_ = 0;
  bool running_ = false;
};

// Nearest-rank percentile, in milliseconds.
double percentile(const std::vector<std::int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty())
    return 0.0;
  auto k = static_cast<long>(std::ceil(p / 100 * static_cast<double>(sorted_ns.size()))) - 1;
  k = std::clamp<long>(k, 0, static_cast<long>(sorted_ns.size()) - 1);
  return static_cast<double>(sorted_ns[static_cast<std::size_t>(k)]) / 1e6;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "rcpt_client: %s\nusage: rcpt_client HOST PORT ADDRESS_FILE [--sessions N] [--rset-every N] "
      "[--per-connection N] [--sender ADDR] [--helo NAME] [--timeout S]\n",
      why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc)
        usage(("missing value for " + arg).c_str());
      value = argv[++i];
    }
    try {
      if (arg == "--sessions")
        o.sessions = std::stoi(value);
      else if (arg == "--rset-every")
        o.rset_every = std::stoi(value);
      else if (arg == "--per-connection")
        o.per_connection = std::stoi(value);
      else if (arg == "--sender")
        o.sender = value;
      else if (arg == "--helo")
        o.helo = value;
      else if (arg == "--timeout")
        o.timeout = std::stod(value);
      else
        usage(("unknown option " + arg).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value for " + arg).c_str());
    }
  }
  if (positional.size() != 3)
    usage("expected HOST PORT ADDRESS_FILE");
  o.host = positional[0];
  o.port = std::atoi(positional[1].c_str());
  o.addresses = positional[2];
  if (o.sessions < 1 || o.port <= 0)
    usage("bad sessions or port");
  return o;
}

std::vector<Address> read_addresses(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    usage(("cannot read " + path).c_str());
  std::vector<Address> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Address a;
    if (!(fields >> a.address))
      continue; // a blank line
    if (!(fields >> a.expected) || a.expected < 100 || a.expected > 999)
      usage(("bad line: " + line).c_str());
    out.push_back(std::move(a));
  }
  return out;
}

std::string json_examples(const std::vector<std::string>& examples) {
  std::string out = "[";
  for (std::size_t i = 0; i < examples.size(); ++i)
    out += (i ? ", " : "") + json_string(examples[i]);
  return out + "]";
}

} // namespace

int main(int argc, char** argv) {
  const Options opts = parse(argc, argv);
  const std::vector<Address> addresses = read_addresses(opts.addresses);
  Client client(opts, addresses);
  double seconds = 0;
  try {
    seconds = client.run();
  } catch (const std::runtime_error& e) {
    std::printf("{\"error\": %s, \"rcpts\": %zu, \"wrong\": %ld, \"examples\": %s}\n",
                json_string(e.what()).c_str(), client.latencies_.size(), client.wrong_,
                json_examples(client.examples_).c_str());
    return 1;
  }
  auto lat = client.latencies_;
  std::sort(lat.begin(), lat.end());
  std::string codes = "{";
  for (std::size_t c = 0; c < client.codes_.size(); ++c)
    if (client.codes_[c] != 0)
      codes += (codes.size() > 1 ? ", \"" : "\"") + std::to_string(c) +
               "\": " + std::to_string(client.codes_[c]);
  codes += "}";
  std::printf(
      "{\"rcpts\": %zu, \"seconds\": %.3f, \"rate\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
      "\"p99_ms\": %.3f, "
      "\"max_ms\": %.3f, \"wrong\": %ld, \"codes\": %s, \"connections\": %ld, \"examples\": %s}\n",
      lat.size(), seconds, seconds > 0 ? static_cast<double>(lat.size()) / seconds : 0.0,
      percentile(lat, 50), percentile(lat, 90), percentile(lat, 99),
      lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1e6, client.wrong_, codes.c_str(),
      client.connections_, json_examples(client.examples_).c_str());
  return 0;
}
