// smtp_client: one outgoing SMTP connection to a next hop (RFC 5321, 2920 PIPELINING,
// 3207 STARTTLS, 1870 SIZE, 6152 8BITMIME, 6531 SMTPUTF8, 3461 DSN). Delivers one message
// at a time and may be reused for the next (connection reuse). Reports a result per
// recipient; deciding what a result means for the queue is the scheduler's job.
#pragma once

#include "mail/envelope.hpp"
#include "smtp/reply_parser.hpp"
#include "smtp/transport.hpp"

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace backstop::delivery {

enum class TlsPolicy { Opportunistic, Required };

struct ClientOptions {
  std::string helo_name;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds greeting_timeout{300}; // RFC 5321 4.5.3.2.1
  std::chrono::seconds command_timeout{300};  // MAIL, RCPT (4.5.3.2.2-3)
  std::chrono::seconds data_timeout{600};     // final reply after the dot (4.5.3.2.6)
  TlsPolicy tls = TlsPolicy::Opportunistic;
  asio::ssl::context* tls_context = nullptr;
};

// One recipient's outcome. code 0 means no SMTP answer (connection lost): retry later.
struct RecipientOutcome {
  int code = 0;
  std::string reply; // "550 5.1.1 <x>: user unknown" as the server said it, one line
  bool delivered() const { return code >= 200 && code < 300; }
  bool permanent() const { return code >= 500; }
};

struct TransactionResult {
  std::vector<RecipientOutcome> recipients; // same order as the indices asked for
  bool connection_broken = false;           // the connection cannot be reused
};

class SmtpClient {
public:
  // Connects, reads the greeting, EHLO (HELO fallback), STARTTLS when offered (required
  // by policy: fail if not offered or not verified), EHLO again. Error text names host.
  static asio::awaitable<std::variant<std::unique_ptr<SmtpClient>, std::string>>
  connect(asio::any_io_executor executor, asio::ip::tcp::endpoint endpoint, std::string host,
          const ClientOptions& options);

  // Sends one message to the given recipients of envelope. body is the stored message
  // (CRLF lines, our Received header on top); it goes out byte-identical, dot-stuffed.
  asio::awaitable<TransactionResult> send(const mail::Envelope& envelope,
                                          const std::vector<std::size_t>& recipients,
                                          std::string_view body);
  asio::awaitable<void> quit();

  // Recipient verification ("callout"): MAIL FROM:<sender>, RCPT TO:<recipient>, RSET,
  // pipelined when offered; nothing is sent after RCPT but RSET. mail_code is the MAIL
  // reply; rcpt is the RCPT outcome (code 0 when the connection broke first).
  struct ProbeOutcome {
    int mail_code = 0;
    RecipientOutcome rcpt;
  };
  asio::awaitable<ProbeOutcome> probe(const mail::Address& sender, const mail::Address& recipient);

  bool usable() const { return usable_; }
  const smtp::EhloExtensions& extensions() const { return extensions_; }
  const std::string& host() const { return host_; }

  SmtpClient(asio::ip::tcp::socket socket, std::string host, const ClientOptions& options);

private:
  asio::awaitable<std::optional<smtp::ParsedReply>> read_reply(std::chrono::seconds timeout);
  asio::awaitable<bool>
  write(std::string data,
        std::chrono::seconds timeout); // owns data: no dangling temporaries across the await
  asio::awaitable<std::optional<std::string>> handshake();
  asio::awaitable<std::optional<smtp::ParsedReply>> ehlo();
  // body_size 0: no SIZE parameter (a callout sends no message).
  std::string mail_command(const mail::Envelope& envelope, std::size_t body_size) const;
  asio::awaitable<void> abort_transaction();
  std::string rcpt_command(const mail::Recipient& recipient) const;
  void fail_all(TransactionResult& result, std::size_t count, int code, const std::string& text);

  smtp::Transport transport_;
  std::string host_;
  ClientOptions options_; // a copy: callers build per-destination options on the stack
  std::string input_;
  smtp::EhloExtensions extensions_;
  bool esmtp_ = false;
  bool usable_ = true;
  asio::steady_timer timer_;
};

std::string format_reply(const smtp::ParsedReply& reply);

} // namespace backstop::delivery
