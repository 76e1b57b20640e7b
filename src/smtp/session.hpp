// session: one SMTP server conversation (RFC 5321) on one event loop. Reads commands,
// answers them (batching replies for PIPELINING, RFC 2920), receives DATA/BDAT into a
// BodyBuffer and hands the message to the spool; sends 250 only once the spool says the
// message is durable. Asks policy::Pipeline for every decision; decides nothing itself
// beyond protocol rules (sequence, syntax, limits).
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"
#include "mail/reply.hpp"
#include "policy/pipeline.hpp"
#include "policy/pipeline_slot.hpp"
#include "queue/body_buffer.hpp"
#include "smtp/address_parser.hpp"
#include "smtp/command_parser.hpp"
#include "smtp/connection_limiter.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/hop_counter.hpp"
#include "smtp/input_buffer.hpp"
#include "smtp/listener.hpp"
#include "smtp/session_options.hpp"
#include "smtp/transport.hpp"

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace backstop::smtp {

class Session : public std::enable_shared_from_this<Session> {
public:
  // The endpoints come from accept() and the listener, so a session costs no getpeername().
  using Peers = smtp::Peers;
  Session(const SessionOptions& options, asio::ip::tcp::socket socket, const Peers& peers,
          Admission admission, std::string id);
  // Runs the conversation to its end. The coroutine owns the session through self, since a
  // lazily started coroutine cannot rely on its caller's shared_ptr still being there.
  static asio::awaitable<void> run(std::shared_ptr<Session> self);
  // Shutdown (on the session's loop): a session waiting for a command gets 421 at once, a
  // busy one (DATA, a policy decision) finishes that step and gets 421 instead of its next
  // command.
  void stop_soon();

private:
  enum class Outcome { Continue, Close };
  struct Transaction {
    bool active = false;
    MailFromArgs mail;
    std::vector<mail::Recipient> recipients;
    bool bdat_started = false;
  };

  // I/O (session.cpp)
  // command: waiting for the client's next command, the one wait that shutdown cuts short.
  asio::awaitable<bool> read_more(std::chrono::seconds timeout, std::size_t chunk,
                                  bool command = false);
  asio::awaitable<bool> flush();
  asio::awaitable<std::optional<std::string_view>> read_command_line();
  static asio::awaitable<void> watchdog(std::shared_ptr<Session> self);
  asio::awaitable<void> converse();
  void count_outcome(bool greeted, bool closed_by_command) const; // backstop_sessions_total
  void set_deadline(std::chrono::seconds timeout);
  void reply(const mail::Reply& r);
  void reply_error(const mail::Reply& r); // counts toward max_errors
  std::string_view pending_input() const;
  void consume(std::size_t n);

  // Commands (session_commands.cpp)
  asio::awaitable<Outcome> dispatch(const Command& command, std::size_t line_length);
  asio::awaitable<Outcome> on_helo(std::string_view argument, bool extended);
  asio::awaitable<Outcome> on_mail(std::string_view argument);
  asio::awaitable<Outcome> on_rcpt(std::string_view argument);
  asio::awaitable<Outcome> answer_verdict(const mail::Verdict& verdict, policy::Stage stage,
                                          const std::string& subject);
  asio::awaitable<bool> greet(); // false: refused at connect, the session ends
  asio::awaitable<void> watch_for_early_talk();
  asio::awaitable<Outcome> on_starttls(std::string_view argument);
  void on_etrn(std::string_view argument);
  void reset_transaction();

  // Message reception (session_data.cpp)
  asio::awaitable<Outcome> on_data(std::string_view argument);
  asio::awaitable<Outcome> on_bdat(std::string_view argument);
  asio::awaitable<Outcome> discard_octets(std::uint64_t count);
  void start_body();
  bool append_to_body(std::string& chunk);
  asio::awaitable<void> finish_message(const DataReader& reader);
  mail::Envelope build_envelope() const;

  const SessionOptions& options_;
  Transport transport_;
  Admission admission_;
  asio::steady_timer watchdog_timer_;
  std::chrono::steady_clock::time_point deadline_;
  bool closed_ = false;
  bool timed_out_ = false;
  bool stopping_ = false;         // the server shuts down: 421 before the next command
  bool awaiting_command_ = false; // reading a command line (not DATA, not writing)

  InputBuffer input_;
  bool discarding_long_line_ = false;
  std::string output_;

  std::shared_ptr<const policy::Pipeline> pipeline_;
  policy::SessionContext ctx_; // what the pipeline knows of this session
  bool greeted_ = false;
  bool esmtp_ = false;
  std::size_t errors_ = 0;
  std::size_t messages_accepted_ = 0;
  Transaction tx_;

  // The message being received.
  std::optional<queue::BodyBuffer> body_;
  mail::QueueId message_id_;
  std::int64_t message_arrival_ = 0;
  bool message_too_big_ = false;
  std::uint64_t received_header_size_ = 0; // ours, not counted against SIZE
  HopCounter hops_;                        // Received headers the client sent
  bool message_store_failed_ = false;
  std::optional<DataReader> bdat_reader_; // alive between the chunks of one BDAT message
};

} // namespace backstop::smtp
