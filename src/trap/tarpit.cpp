// tarpit: the per-loop slab of connections, its FIFO and its one timer.
#include "trap/tarpit.hpp"

#include "trap/handlers.hpp"
#include "trap/line_assembler.hpp"
#include "trap/stutter_queue.hpp"

#include <array>
#include <cerrno>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

namespace backstop::trap {

namespace {

using Clock = StutterQueue::Clock;

// One connection, kept inline in the slab: nothing here allocates.
struct Connection {
  int fd = -1;
  Clock::time_point started;
  asio::ip::tcp::endpoint peer;
  smtp::Admission admission;
  std::string_view reply; // the text being stuttered (the handler's Replies)
  std::uint16_t sent = 0; // bytes of reply already out
  bool closing = false;   // close once reply is out (QUIT, the command limit)
  std::uint32_t bytes = 0;
  LineAssembler<512> line;
  Conversation conversation;
};

// The memory budget is 4 KiB a connection, kernel socket aside; a slot stays far below.
static_assert(sizeof(Connection) <= 1024);

constexpr std::size_t slab_chunk = 256;

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

enum class Input { None, Line, Closed };

} // namespace

class TarpitLoop {
public:
  TarpitLoop(asio::io_context& loop, const TarpitHandler& handler)
      : handler_(handler), timer_(loop),
        slack_(std::min<Clock::duration>(handler.listener().stutter / 4,
                                         std::chrono::milliseconds(50))) {}
  ~TarpitLoop() {
    for (auto& chunk : chunks_) {
      for (std::size_t i = 0; i < slab_chunk; ++i) {
        if (chunk[i].fd >= 0) {
          ::close(chunk[i].fd);
        }
      }
    }
  }

  void add(asio::ip::tcp::socket socket, const smtp::Peers& peers, smtp::Admission admission) {
    std::error_code ec;
    const int fd = socket.release(ec); // out of the reactor: this loop polls it itself
    if (ec) {
      return;
    }
    const std::uint32_t id = take_slot();
    Connection& c = at(id);
    c.fd = fd;
    c.started = Clock::now();
    c.peer = peers.remote;
    c.admission = std::move(admission);
    c.reply = handler_.replies().banner();
    c.sent = 0;
    c.closing = false;
    c.bytes = 0;
    c.line.reset();
    c.conversation = Conversation(handler_.listener().max_commands);
    const auto now = Clock::now();
    if (auto again = step(id, now)) {
      queue_.push(id, *again);
    }
    flush_bytes();
    arm();
  }

private:
  Connection& at(std::uint32_t id) { return chunks_[id / slab_chunk][id % slab_chunk]; }

  std::uint32_t take_slot() {
    if (free_.empty()) {
      const auto base = static_cast<std::uint32_t>(chunks_.size() * slab_chunk);
      chunks_.push_back(std::make_unique<Connection[]>(slab_chunk));
      for (std::size_t i = slab_chunk; i > 0; --i) {
        free_.push_back(base + static_cast<std::uint32_t>(i - 1));
      }
    }
    const std::uint32_t id = free_.back();
    free_.pop_back();
    ++live_;
    return id;
  }

  void arm() {
    if (armed_ || queue_.empty()) {
      return;
    }
    armed_ = true;
    timer_.expires_at(queue_.next_due());
    timer_.async_wait([this](std::error_code ec) {
      armed_ = false;
      if (!ec) {
        on_tick();
      }
    });
  }

  void on_tick() {
    const auto now = Clock::now();
    queue_.run_due(now + slack_, [this, now](std::uint32_t id) { return step(id, now); });
    flush_bytes();
    arm();
  }

  void flush_bytes() {
    if (bytes_ > 0) {
      metrics::count(handler_.services().counters, metrics::Counter::TarpitBytes, bytes_);
      bytes_ = 0;
    }
  }

  // One turn of a connection: one byte out, or one look for a command. When it is due again.
  std::optional<Clock::time_point> step(std::uint32_t id, Clock::time_point now) {
    Connection& c = at(id);
    if (now - c.started >= handler_.listener().max_duration) {
      say_at_once(c, c.reply.substr(c.sent));
      say_at_once(c, handler_.replies().deadline());
      finish(id, "session deadline");
      return std::nullopt;
    }
    if (c.sent == c.reply.size()) {
      const Input input = read_line(c);
      if (input == Input::Closed) {
        finish(id, "client left");
        return std::nullopt;
      }
      if (input == Input::None) {
        return now + delay();
      }
      const Answer answer =
          c.conversation.on_line(c.line.line(), *handler_.services().our_domains.load());
      c.reply = handler_.replies().text(answer);
      c.sent = 0;
      c.closing = closes(answer);
    }
    return send_byte(id, c, now);
  }

  std::optional<Clock::time_point> send_byte(std::uint32_t id, Connection& c,
                                             Clock::time_point now) {
    const ssize_t n = ::send(c.fd, c.reply.data() + c.sent, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == 1) {
      ++c.sent;
      ++c.bytes;
      ++bytes_;
    } else if (n == 0 || !would_block(errno)) {
      finish(id, "client left");
      return std::nullopt;
    }
    if (c.closing && c.sent == c.reply.size()) {
      finish(id, c.conversation.commands() > handler_.listener().max_commands ? "command limit"
                                                                              : "QUIT");
      return std::nullopt;
    }
    return now + delay();
  }

  // The loop's share of the listener's byte budget sets how far apart its bytes go.
  std::chrono::nanoseconds delay() const {
    const auto& l = handler_.listener();
    const double share = static_cast<double>(l.max_bytes_per_second) /
                         static_cast<double>(handler_.services().loops.size());
    return stutter_delay(l.stutter, live_, share);
  }

  // Takes what the client sent, up to the end of one line; the rest stays in the kernel.
  Input read_line(Connection& c) {
    if (c.line.complete()) {
      c.line.reset();
    }
    const ssize_t seen = ::recv(c.fd, scratch_.data(), scratch_.size(), MSG_PEEK | MSG_DONTWAIT);
    if (seen == 0 || (seen < 0 && !would_block(errno))) {
      return Input::Closed;
    }
    if (seen < 0) {
      return Input::None;
    }
    std::string_view peeked(scratch_.data(), static_cast<std::size_t>(seen));
    const auto lf = peeked.find('\n');
    const std::size_t take = lf == std::string_view::npos ? peeked.size() : lf + 1;
    const ssize_t got = ::recv(c.fd, scratch_.data(), take, MSG_DONTWAIT);
    if (got <= 0) {
      return got == 0 ? Input::Closed : Input::None;
    }
    c.line.feed(std::string_view(scratch_.data(), static_cast<std::size_t>(got)));
    return c.line.complete() ? Input::Line : Input::None;
  }

  static void say_at_once(const Connection& c, std::string_view text) {
    if (!text.empty()) {
      [[maybe_unused]] const auto n =
          ::send(c.fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  }

  void finish(std::uint32_t id, std::string_view how) {
    Connection& c = at(id);
    ::close(c.fd);
    c.fd = -1;
    c.admission = smtp::Admission{};
    const auto held =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - c.started).count();
    Hit hit;
    hit.address = client_address(c.peer);
    hit.helo = c.conversation.helo();
    hit.sender_domain = c.conversation.sender_domain();
    hit.recipient_domain = c.conversation.recipient_domain();
    hit.named_ours = c.conversation.named_ours();
    hit.detail = fmt::format("tarpitted {} s, {} bytes sent, {}; {}", held, c.bytes,
                             c.conversation.rcpt_seen() ? "deferred at RCPT" : "no RCPT", how);
    handler_.recorder().record(hit);
    free_.push_back(id);
    --live_;
  }

  const TarpitHandler& handler_;
  asio::steady_timer timer_;
  const Clock::duration slack_;
  bool armed_ = false;
  std::vector<std::unique_ptr<Connection[]>> chunks_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0; // slots in use
  StutterQueue queue_;
  std::uint64_t bytes_ = 0; // sent since the last count
  std::array<char, 512> scratch_{};
};

TarpitHandler::TarpitHandler(TrapListener listener, const TrapServices& services)
    : listener_(std::move(listener)), services_(services), replies_(services.hostname),
      recorder_(listener_, services_) {
  for (auto* loop : services_.loops) {
    loops_.push_back(std::make_unique<TarpitLoop>(*loop, *this));
  }
}

TarpitHandler::~TarpitHandler() = default;

void TarpitHandler::start(std::size_t loop, asio::ip::tcp::socket socket,
                          const smtp::Peers& peers) {
  smtp::Admission admission;
  if (services_.limiter != nullptr) {
    const auto admitted = services_.limiter->admit(client_address(peers.remote), admission);
    if (admitted != smtp::AdmitResult::Admitted) {
      metrics::count(services_.counters, metrics::Counter::ConnectionsRefused);
      std::error_code ignored;
      asio::write(socket, asio::buffer(replies_.busy()), ignored); // fits the socket buffer
      socket.close(ignored);
      return;
    }
  }
  loops_.at(loop)->add(std::move(socket), peers, std::move(admission));
}

} // namespace backstop::trap
