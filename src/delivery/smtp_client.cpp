// smtp_client: the outgoing SMTP conversation.
#include "delivery/smtp_client.hpp"

#include "smtp/asio_tokens.hpp"
#include "smtp/dot_stuffer.hpp"

namespace backstop::delivery {

using smtp::use_tuple;

namespace {

std::string xtext(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string notify_value(std::uint8_t notify) {
  if ((notify & mail::NotifyNever) != 0) {
    return "NEVER";
  }
  std::string out;
  auto add = [&](std::uint8_t flag, const char* name) {
    if ((notify & flag) != 0) {
      out += out.empty() ? "" : ",";
      out += name;
    }
  };
  add(mail::NotifySuccess, "SUCCESS");
  add(mail::NotifyFailure, "FAILURE");
  add(mail::NotifyDelay, "DELAY");
  return out;
}

} // namespace

std::string format_reply(const smtp::ParsedReply& reply) {
  std::string out = std::to_string(reply.code);
  for (const auto& line : reply.lines) {
    out += ' ';
    out += line;
  }
  return out;
}

SmtpClient::SmtpClient(asio::ip::tcp::socket socket, std::string host, const ClientOptions& options)
    : transport_(std::move(socket)), host_(std::move(host)), options_(options),
      timer_(transport_.socket().get_executor()) {}

void SmtpClient::arm(std::chrono::seconds timeout) {
  const auto now = std::chrono::steady_clock::now();
  const auto step = timeout >= options_.deadline - now ? options_.deadline : now + timeout;
  const std::uint64_t generation = ++armed_;
  timer_.expires_at(step);
  timer_.async_wait([this, generation](std::error_code ec) {
    if (!ec && generation == armed_) {
      timed_out_ = true;
      std::error_code ignored;
      transport_.socket().cancel(ignored);
    }
  });
}

void SmtpClient::disarm() {
  ++armed_;
  timer_.cancel();
}

void SmtpClient::lost(std::string text) {
  usable_ = false;
  if (failure_.empty()) {
    failure_ = std::move(text);
  }
}

asio::awaitable<std::optional<smtp::ParsedReply>>
SmtpClient::read_reply(std::chrono::seconds timeout, std::string_view what) {
  if (!usable_) {
    lost("connection to " + host_ + " no longer usable");
    co_return std::nullopt; // a cancelled or broken stream is never read again
  }
  arm(timeout);
  for (;;) {
    auto scan = smtp::parse_reply(input_);
    if (scan.status == smtp::ReplyStatus::Complete) {
      disarm();
      timed_out_ = false; // a watchdog that fired as the reply came in cut nothing short
      input_.erase(0, scan.consumed);
      co_return std::move(scan.reply);
    }
    if (scan.status == smtp::ReplyStatus::Malformed) {
      disarm();
      lost("malformed " + std::string(what) + " from " + host_);
      co_return std::nullopt;
    }
    char buf[4096];
    std::error_code ec;
    const std::size_t n = co_await transport_.read_some(asio::buffer(buf), ec);
    if (ec || n == 0) {
      disarm();
      lost((timed_out_ ? "timed out waiting for " : "connection lost waiting for ") +
           std::string(what) + " from " + host_);
      co_return std::nullopt;
    }
    input_.append(buf, n);
  }
}

asio::awaitable<bool> SmtpClient::write(std::string data, std::chrono::seconds timeout,
                                        std::string_view what) {
  if (!usable_) {
    lost("connection to " + host_ + " no longer usable");
    co_return false;
  }
  arm(timeout);
  std::error_code ec;
  co_await transport_.write(asio::buffer(data), ec);
  disarm();
  if (!ec) {
    timed_out_ = false; // as for a reply: the write was done before the watchdog bit
  } else {
    lost((timed_out_ ? "timed out sending " : "connection lost sending ") + std::string(what) +
         " to " + host_);
  }
  co_return !ec;
}

asio::awaitable<std::optional<smtp::ParsedReply>> SmtpClient::ehlo() {
  if (!co_await write("EHLO " + options_.helo_name + "\r\n", options_.command_timeout, "EHLO")) {
    co_return std::nullopt;
  }
  auto reply = co_await read_reply(options_.command_timeout, "the reply to EHLO");
  if (reply && reply->code == 250) {
    esmtp_ = true;
    extensions_ = smtp::parse_ehlo_extensions(*reply);
    co_return reply;
  }
  if (!reply) {
    co_return std::nullopt;
  }
  const bool sent =
      co_await write("HELO " + options_.helo_name + "\r\n", options_.command_timeout, "HELO");
  if (!sent) {
    co_return std::nullopt;
  }
  esmtp_ = false;
  extensions_ = {};
  co_return co_await read_reply(options_.command_timeout, "the reply to HELO");
}

// The TLS handshake is one more wait on the peer: bounded by command_timeout (and the
// deadline) like a reply, so a peer that answers 220 and then never speaks TLS is let go.
asio::awaitable<std::optional<std::string>> SmtpClient::start_tls() {
  input_.clear();
  arm(options_.command_timeout);
  std::error_code ec;
  co_await transport_.start_tls_client(*options_.tls_context, host_,
                                       options_.tls == TlsPolicy::Required, ec);
  disarm();
  if (ec) {
    lost(timed_out_ ? "TLS handshake with " + host_ + " timed out"
                    : "TLS handshake with " + host_ + " failed: " + ec.message());
    co_return failure_;
  }
  co_return std::nullopt;
}

// Returns an error text, or nullopt when the connection is ready for MAIL.
asio::awaitable<std::optional<std::string>> SmtpClient::handshake() {
  auto greeting = co_await read_reply(options_.greeting_timeout, "the greeting");
  if (!greeting) {
    co_return failure_;
  }
  if (greeting->code != 220) {
    co_return host_ + " said: " + format_reply(*greeting);
  }
  auto hello = co_await ehlo();
  if (!hello || hello->code != 250) {
    co_return hello ? host_ + " said: " + format_reply(*hello) : failure_;
  }
  const bool required = options_.tls == TlsPolicy::Required;
  if (!extensions_.starttls || options_.tls_context == nullptr) {
    co_return required ? std::optional<std::string>(host_ + " does not offer STARTTLS (tls = "
                                                            "\"required\")")
                       : std::nullopt;
  }
  if (!co_await write("STARTTLS\r\n", options_.command_timeout, "STARTTLS")) {
    co_return failure_;
  }
  auto ready = co_await read_reply(options_.command_timeout, "the reply to STARTTLS");
  if (!ready) {
    co_return failure_;
  }
  if (ready->code != 220) {
    co_return required ? std::optional<std::string>("STARTTLS refused by " + host_) : std::nullopt;
  }
  if (auto error = co_await start_tls()) {
    co_return error;
  }
  hello = co_await ehlo();
  if (!hello || hello->code != 250) {
    co_return hello ? host_ + " said after STARTTLS: " + format_reply(*hello) : failure_;
  }
  co_return std::nullopt;
}

namespace {

// Binds to the configured source address of the endpoint's family, if there is one.
std::optional<std::string> bind_source(asio::ip::tcp::socket& socket,
                                       const asio::ip::tcp::endpoint& endpoint,
                                       const std::vector<asio::ip::address>& sources) {
  for (const auto& source : sources) {
    if (source.is_v4() != endpoint.address().is_v4()) {
      continue;
    }
    std::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (!ec) {
      socket.bind({source, 0}, ec);
    }
    if (ec) {
      return "bind to source address " + source.to_string() + ": " + ec.message();
    }
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace

asio::awaitable<std::variant<std::unique_ptr<SmtpClient>, std::string>>
SmtpClient::connect(asio::any_io_executor executor, asio::ip::tcp::endpoint endpoint,
                    std::string host, const ClientOptions& options) {
  asio::ip::tcp::socket socket(executor);
  if (auto error = bind_source(socket, endpoint, options.source_addresses)) {
    co_return "connect to " + host + ": " + *error;
  }
  asio::steady_timer timer(executor);
  const auto now = std::chrono::steady_clock::now();
  timer.expires_at(options.connect_timeout >= options.deadline - now
                       ? options.deadline
                       : now + options.connect_timeout);
  timer.async_wait([&socket](std::error_code ec) {
    if (!ec) {
      std::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [ec] = co_await socket.async_connect(endpoint, use_tuple);
  timer.cancel();
  std::ostringstream where;
  where << host << "[" << endpoint << "]";
  if (ec) {
    co_return "connect to " + where.str() + ": " +
        (ec == asio::error::bad_descriptor ? std::string("timed out") : ec.message());
  }
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  auto client = std::make_unique<SmtpClient>(std::move(socket), where.str(), options);
  if (auto error = co_await client->handshake()) {
    co_await client->quit();
    co_return *error;
  }
  co_return std::move(client);
}

std::string SmtpClient::mail_command(const mail::Envelope& e, std::size_t body_size) const {
  std::string cmd = "MAIL FROM:<" + e.sender.to_string() + ">";
  if (esmtp_ && extensions_.size != 0 && body_size != 0) {
    cmd += " SIZE=" + std::to_string(body_size);
  }
  if (esmtp_ && e.body == mail::BodyType::EightBitMime && extensions_.eightbitmime) {
    cmd += " BODY=8BITMIME";
  }
  if (esmtp_ && e.smtputf8 && extensions_.smtputf8) {
    cmd += " SMTPUTF8";
  }
  if (esmtp_ && extensions_.dsn) {
    if (e.ret != mail::DsnRet::Unset) {
      cmd += e.ret == mail::DsnRet::Full ? " RET=FULL" : " RET=HDRS";
    }
    if (!e.envid.empty()) {
      cmd += " ENVID=" + xtext(e.envid);
    }
  }
  return cmd + "\r\n";
}

std::string SmtpClient::rcpt_command(const mail::Recipient& r) const {
  std::string cmd = "RCPT TO:<" + r.address.to_string() + ">";
  if (esmtp_ && extensions_.dsn) {
    if (r.notify != mail::NotifyNone) {
      cmd += " NOTIFY=" + notify_value(r.notify);
    }
    if (!r.orcpt.empty()) {
      const auto semi = r.orcpt.find(';');
      cmd += " ORCPT=" + r.orcpt.substr(0, semi + 1) +
             (semi == std::string::npos ? "" : xtext(r.orcpt.substr(semi + 1)));
    }
  }
  return cmd + "\r\n";
}

void SmtpClient::fail_all(TransactionResult& result, std::size_t count, int code,
                          const std::string& text) {
  result.recipients.assign(count, RecipientOutcome{code, text});
}

} // namespace backstop::delivery
