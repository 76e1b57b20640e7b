// session_commands: what each SMTP command does to the session: sequence rules (503),
// syntax (501/555), limits, and asking the policy pipeline about recipients.
#include "mail/replies.hpp"
#include "smtp/session.hpp"

namespace backstop::smtp {

namespace mr = mail::replies;

namespace {
constexpr std::size_t rfc5321_command_line = 512;

mail::Reply reply_for(ParseError error, bool sender) {
  switch (error) {
  case ParseError::Syntax:
    return mr::parameter_error;
  case ParseError::AddressSyntax:
    return sender ? mr::sender_syntax : mr::address_syntax;
  case ParseError::UnknownParameter:
    return mr::unknown_parameter;
  case ParseError::BadParameterValue:
    return mr::parameter_error;
  case ParseError::NeedsSmtputf8:
    return mr::utf8_needs_smtputf8;
  }
  return mr::parameter_error;
}
} // namespace

void Session::reset_transaction() {
  tx_ = Transaction{};
  ctx_.reset_transaction();
  bdat_reader_.reset();
  body_.reset();
}

asio::awaitable<Session::Outcome> Session::dispatch(const Command& command,
                                                    std::size_t line_length) {
  const bool may_be_long = command.verb == Verb::Mail || command.verb == Verb::Rcpt;
  if (!may_be_long && line_length > rfc5321_command_line) {
    reply_error(mr::line_too_long);
    co_return Outcome::Continue;
  }
  switch (command.verb) {
  case Verb::Ehlo:
  case Verb::Helo:
    co_return co_await on_helo(command.argument, command.verb == Verb::Ehlo);
  case Verb::Mail:
    co_return co_await on_mail(command.argument);
  case Verb::Rcpt:
    co_return co_await on_rcpt(command.argument);
  case Verb::Data:
    co_return co_await on_data(command.argument);
  case Verb::Bdat:
    co_return co_await on_bdat(command.argument);
  case Verb::Rset:
    reset_transaction();
    reply(mr::reset_ok);
    break;
  case Verb::Noop:
    reply(mr::noop_ok);
    break;
  case Verb::Quit:
    reply(mr::bye);
    co_return Outcome::Close;
  case Verb::Vrfy:
    command.argument.empty() ? reply_error(mr::parameter_error) : reply(mr::cannot_vrfy);
    break;
  case Verb::Help:
    reply(mr::help);
    break;
  case Verb::StartTls:
    co_return co_await on_starttls(command.argument);
  case Verb::Etrn:
    on_etrn(command.argument);
    break;
  case Verb::Expn:
  case Verb::Auth:
    reply_error(mr::not_implemented);
    break;
  case Verb::Unknown:
    reply_error(mr::syntax_error);
    break;
  }
  co_return Outcome::Continue;
}

asio::awaitable<Session::Outcome> Session::on_helo(std::string_view argument, bool extended) {
  if (argument.empty()) {
    reply_error(mr::helo_required);
    co_return Outcome::Continue;
  }
  reset_transaction();
  greeted_ = false;
  ctx_.helo = std::string(argument.substr(0, argument.find(' ')));
  const auto verdict = co_await pipeline_->decide(policy::Stage::Helo, ctx_);
  if (verdict.refused()) {
    co_return co_await answer_verdict(verdict, policy::Stage::Helo, ctx_.helo);
  }
  greeted_ = true;
  esmtp_ = extended;
  const std::string greeting =
      options_.hostname + " Hello " + ctx_.helo + " [" + ctx_.client.ip + "]";
  if (!extended) {
    reply({250, "", greeting});
    co_return Outcome::Continue;
  }
  std::string text = greeting + "\nPIPELINING\nSIZE " +
                     std::to_string(options_.limits.max_message_size) +
                     "\nETRN\n8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8\nCHUNKING\nDSN";
  if (options_.tls != nullptr && !transport_.tls_active()) {
    text += "\nSTARTTLS";
  }
  reply({250, "", text});
  co_return Outcome::Continue;
}

asio::awaitable<Session::Outcome> Session::on_mail(std::string_view argument) {
  if (!greeted_) {
    reply_error(mr::need_helo);
    co_return Outcome::Continue;
  }
  if (tx_.active) {
    reply_error(mr::nested_mail);
    co_return Outcome::Continue;
  }
  auto parsed = parse_mail_from(argument);
  if (auto* error = std::get_if<ParseError>(&parsed)) {
    reply_error(reply_for(*error, true));
    co_return Outcome::Continue;
  }
  auto& args = std::get<MailFromArgs>(parsed);
  if (args.size > options_.limits.max_message_size) {
    reply_error(mr::size_exceeded);
    co_return Outcome::Continue;
  }
  ctx_.reset_transaction();
  ctx_.sender = args.sender;
  const auto verdict = co_await pipeline_->decide(policy::Stage::Mail, ctx_);
  if (verdict.refused()) {
    ctx_.reset_transaction();
    co_return co_await answer_verdict(verdict, policy::Stage::Mail, args.sender.to_string());
  }
  tx_.active = true;
  tx_.mail = std::move(args);
  reply(mr::sender_ok);
  co_return Outcome::Continue;
}

asio::awaitable<Session::Outcome> Session::on_rcpt(std::string_view argument) {
  if (!tx_.active) {
    reply_error(mr::need_mail);
    co_return Outcome::Continue;
  }
  auto parsed = parse_rcpt_to(argument, tx_.mail.smtputf8);
  if (auto* error = std::get_if<ParseError>(&parsed)) {
    reply_error(reply_for(*error, false));
    co_return Outcome::Continue;
  }
  auto& args = std::get<RcptToArgs>(parsed);
  // RFC 5321 4.5.1: <postmaster> with no domain must be accepted; it goes to our postmaster.
  if (args.recipient.domain.empty() && mail::ascii_iequals(args.recipient.local, "postmaster")) {
    args.recipient = options_.postmaster;
  }
  if (tx_.recipients.size() >= options_.limits.max_recipients) {
    reply_error(mr::too_many_recipients);
    co_return Outcome::Continue;
  }
  for (const auto& existing : tx_.recipients) {
    if (existing.address == args.recipient) {
      reply(mr::recipient_ok); // a duplicate is delivered once
      co_return Outcome::Continue;
    }
  }
  ctx_.recipient = args.recipient;
  const auto verdict = co_await pipeline_->decide(policy::Stage::Rcpt, ctx_);
  if (verdict.refused()) {
    co_return co_await answer_verdict(verdict, policy::Stage::Rcpt, args.recipient.to_string());
  }
  if (options_.log && options_.log->should_log(spdlog::level::debug)) {
    options_.log->debug("session={} RCPT <{}> from [{}]: accepted", ctx_.session_id,
                        args.recipient.to_string(), ctx_.client.ip);
  }
  ctx_.recipients.push_back(args.recipient);
  tx_.recipients.push_back({std::move(args.recipient), args.notify, std::move(args.orcpt)});
  metrics::count(options_.counters, metrics::Counter::RecipientsAccepted);
  reply(mr::recipient_ok);
  co_return Outcome::Continue;
}

// A refusal from policy: logged with its check and reason, maybe delayed, maybe the end.
asio::awaitable<Session::Outcome> Session::answer_verdict(const mail::Verdict& verdict,
                                                          policy::Stage stage,
                                                          const std::string& subject) {
  const char* decision = verdict.decision == mail::Decision::Reject ? "reject" : "defer";
  if (options_.counters != nullptr) {
    options_.counters->refused(policy::stage_name(stage), decision, verdict.check);
  }
  if (options_.log) {
    options_.log->info("session={} {} {} from [{}]: {} <{}>: {}", ctx_.session_id, decision,
                       policy::stage_name(stage), ctx_.client.ip, verdict.check, subject,
                       verdict.reason);
  }
  if (verdict.delay.count() > 0) {
    asio::steady_timer pause(transport_.socket().get_executor(), verdict.delay);
    std::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (verdict.disconnect) {
    reply(verdict.reply);
    co_return Outcome::Close;
  }
  reply_error(verdict.reply);
  co_return Outcome::Continue;
}

asio::awaitable<Session::Outcome> Session::on_starttls(std::string_view argument) {
  if (options_.tls == nullptr) {
    reply_error(mr::not_implemented);
    co_return Outcome::Continue;
  }
  if (transport_.tls_active()) {
    reply_error(mr::already_tls);
    co_return Outcome::Continue;
  }
  if (!argument.empty()) {
    reply_error(mr::parameter_error);
    co_return Outcome::Continue;
  }
  reply(mr::start_tls);
  if (!co_await flush()) {
    co_return Outcome::Close;
  }
  // Whatever the client pipelined after STARTTLS in plaintext must never be read as a
  // command of the encrypted session (CVE-2011-0411).
  input_.clear();
  std::error_code ec;
  set_deadline(options_.limits.command_timeout);
  co_await transport_.start_tls(*options_.tls, ec);
  if (ec) {
    if (options_.log) {
      options_.log->info("session={} TLS handshake with [{}] failed: {}", ctx_.session_id,
                         ctx_.client.ip, ec.message());
    }
    output_.clear();
    co_return Outcome::Close;
  }
  // RFC 3207 4.2: forget everything learnt before TLS; the client must EHLO again.
  reset_transaction();
  greeted_ = false;
  esmtp_ = false;
  ctx_.helo.clear();
  ctx_.client.tls = true;
  co_return Outcome::Continue;
}

void Session::on_etrn(std::string_view argument) {
  if (!greeted_) {
    reply_error(mr::need_helo);
    return;
  }
  if (tx_.active) {
    reply_error(mr::bad_sequence);
    return;
  }
  if (argument.empty()) {
    reply_error(mr::parameter_error);
    return;
  }
  if (options_.etrn == nullptr) {
    reply_error(mr::etrn_unknown_domain);
    return;
  }
  const auto r = options_.etrn->on_etrn(ctx_.client.ip, std::string(argument));
  r.positive() ? reply(r) : reply_error(r);
}

} // namespace backstop::smtp
