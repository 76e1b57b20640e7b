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
  // No wait of this connection lasts beyond this (a callout's overall deadline).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  TlsPolicy tls = TlsPolicy::Opportunistic;
  asio::ssl::context* tls_context = nullptr;
  // Bind outgoing connections to these, at most one per address family (Postfix's
  // smtp_bind_address): the address the primary allowlists. Empty: the kernel chooses.
  std::vector<asio::ip::address> source_addresses;
};

// One recipient's outcome. code 0 means no SMTP answer (connection lost): retry later.
struct RecipientOutcome {
  int code = 0;
  std::string reply;    // "550 5.1.1 <x>: user unknown" as the server said it, one line
  bool at_rcpt = false; // reply is this recipient's own RCPT answer (not MAIL's, not DATA's)
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
    std::string mail_reply; // the MAIL reply as one line, "" without one
    RecipientOutcome rcpt;
    std::string rcpt_enhanced; // the RCPT reply's RFC 3463 code, "5.1.1"; "" without one
  };
  asio::awaitable<ProbeOutcome> probe(const mail::Address& sender, const mail::Address& recipient);

  bool usable() const { return usable_; }
  // True once a wait on the peer ran into its timeout or the deadline (the peer stalls).
  bool timed_out() const { return timed_out_; }
  // Why the connection stopped: "timed out waiting for the reply to RCPT TO from host".
  const std::string& failure() const { return failure_; }
  // A pooled connection lent to a callout gets that callout's deadline; max() = none.
  void set_deadline(std::chrono::steady_clock::time_point deadline) {
    options_.deadline = deadline;
  }
  const smtp::EhloExtensions& extensions() const { return extensions_; }
  const std::string& host() const { return host_; }

  SmtpClient(asio::ip::tcp::socket socket, std::string host, const ClientOptions& options);

private:
  // what names the awaited reply for failure(): "the reply to MAIL FROM". The timeout
  // bounds the whole reply, however slowly its bytes trickle in.
  asio::awaitable<std::optional<smtp::ParsedReply>> read_reply(std::chrono::seconds timeout,
                                                               std::string_view what);
  // Owns data: no dangling temporaries across the await. what: "MAIL FROM".
  asio::awaitable<bool> write(std::string data, std::chrono::seconds timeout,
                              std::string_view what);
  // Starts the watchdog of one wait: at min(now + timeout, deadline) the socket is cancelled.
  void arm(std::chrono::seconds timeout);
  void disarm();
  void lost(std::string text); // records the first failure; the connection is unusable
  asio::awaitable<std::optional<std::string>> start_tls();
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
  bool timed_out_ = false;
  std::string failure_;
  asio::steady_timer timer_;
  std::uint64_t armed_ = 0; // generation of the current wait: a late expiry is ignored
};

std::string format_reply(const smtp::ParsedReply& reply);

} // namespace backstop::delivery
