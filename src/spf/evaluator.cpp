// evaluator: check_host(): initial processing, record lookup and selection, the directive
// loop, redirect (RFC 7208 4.3 to 4.7, 6.1).
#include "spf/evaluator.hpp"

#include "mail/address.hpp"
#include "mail/ip_address.hpp"
#include "spf/evaluation.hpp"

#include <cstdio>

namespace backstop::spf {

Evaluator::Evaluator(dns::Resolver& resolver, EvaluatorOptions options)
    : resolver_(resolver), options_(std::move(options)) {}

asio::awaitable<Outcome> Evaluator::check_host(asio::ip::address ip, std::string domain,
                                               std::string sender, std::string helo) const {
  detail::Evaluation evaluation(*this, ip, std::move(sender), std::move(helo));
  co_return co_await evaluation.check_domain(std::move(domain), true);
}

namespace detail {

namespace {

using mail::unmapped;

std::string timestamp(const mail::Clock* clock) {
  const auto now = clock != nullptr ? clock->now() : std::chrono::system_clock::now();
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

bool ascii_only(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

Result qualified(char qualifier) {
  switch (qualifier) {
  case '-':
    return Result::Fail;
  case '~':
    return Result::SoftFail;
  case '?':
    return Result::Neutral;
  default:
    return Result::Pass;
  }
}

Outcome outcome(Result result, std::string reason) {
  return Outcome{result, {}, std::move(reason), {}};
}

} // namespace

std::string dotted_address(const asio::ip::address& address) {
  if (address.is_v4()) {
    return address.to_string();
  }
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto byte : address.to_v6().to_bytes()) {
    for (const int nibble : {byte >> 4, byte & 0xf}) {
      out += out.empty() ? "" : ".";
      out += hex[nibble];
    }
  }
  return out;
}

bool well_formed_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);
  }
  if (domain.empty() || domain.size() > 253 || domain.front() == '[' ||
      domain.find('.') == std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const auto dot = std::min(domain.find('.', start), domain.size());
    if (dot == start || dot - start > 63) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

Evaluation::Evaluation(const Evaluator& evaluator, asio::ip::address ip, std::string sender,
                       std::string helo)
    : evaluator_(evaluator), options_(evaluator.options()), resolver_(evaluator.resolver()),
      client_(unmapped(ip)),
      deadline_(std::chrono::steady_clock::now() + evaluator.options().deadline) {
  const auto at = sender.rfind('@');
  std::string local = at == std::string::npos ? std::string{} : sender.substr(0, at);
  const std::string sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
  if (local.empty()) {
    local = "postmaster"; // 4.3: a sender without local part
  }
  values_.sender = local + "@" + sender_domain;
  values_.local = local;
  values_.sender_domain = sender_domain;
  values_.ip = dotted_address(client_);
  values_.ip_version = client_.is_v4() ? "in-addr" : "ip6";
  values_.helo = std::move(helo);
  values_.client = client_.to_string();
  values_.receiver = options_.receiver;
  values_.timestamp = timestamp(options_.clock);
}

asio::awaitable<Outcome> Evaluation::check_domain(std::string domain, bool explain) {
  if (!well_formed_domain(domain)) {
    co_return outcome(Result::None, "\"" + domain + "\" is not a domain that can have SPF");
  }
  domain = mail::normalize_domain(domain);
  const auto answer = co_await txt(domain);
  if (answer.status == dns::Status::TempFail) {
    co_return outcome(Result::TempError,
                      "DNS error looking up the SPF record of " + domain + ": " + answer.error);
  }
  std::vector<const std::string*> found;
  for (const auto& text : answer.records) {
    if (is_spf_record(text)) {
      found.push_back(&text);
    }
  }
  if (found.empty()) {
    co_return outcome(Result::None, domain + " has no SPF record");
  }
  if (found.size() > 1) {
    co_return outcome(Result::PermError, domain + " has more than one SPF record");
  }
  if (!ascii_only(*found.front())) {
    co_return outcome(Result::PermError, "the SPF record of " + domain + " is not ASCII");
  }
  const auto record = parse_record(*found.front());
  if (!record) {
    co_return outcome(Result::PermError, "syntax error in the SPF record of " + domain + ": " +
                                             record.error().message);
  }
  co_return co_await evaluate(record.value(), std::move(domain), explain);
}

asio::awaitable<Outcome> Evaluation::evaluate(const Record& record, std::string domain,
                                              bool explain) {
  for (const auto& directive : record.directives) {
    if (directive.asks_dns() && ++dns_terms_ > options_.max_dns_terms) {
      co_return outcome(Result::PermError, "more than " + std::to_string(options_.max_dns_terms) +
                                               " DNS lookups (at " + directive.text + ")");
    }
    const auto term = co_await match(directive, domain);
    if (term.kind == TermResult::Error) {
      co_return term.error;
    }
    if (term.kind == TermResult::NoMatch) {
      continue;
    }
    Outcome result{qualified(directive.qualifier), {}, {}, directive.text};
    result.reason = "matched " + directive.text + " in the SPF record of " + domain;
    if (result.result == Result::Fail && explain) {
      result.explanation = co_await explanation(record, domain);
    }
    co_return result;
  }
  if (!record.redirect) {
    co_return Outcome{
        Result::Neutral, {}, "no mechanism matched in the SPF record of " + domain, "default"};
  }
  if (++dns_terms_ > options_.max_dns_terms) {
    co_return outcome(Result::PermError, "more than " + std::to_string(options_.max_dns_terms) +
                                             " DNS lookups (at redirect)");
  }
  const auto target = co_await target_name(record.redirect, domain);
  // 6.1: the redirect target's result, but none (no record, malformed name) is permerror.
  auto redirected = co_await check_domain(target, explain);
  if (redirected.result == Result::None) {
    co_return outcome(Result::PermError,
                      "redirect from " + domain + " found no SPF record: " + redirected.reason);
  }
  co_return redirected;
}

bool Evaluation::past_deadline() const { return std::chrono::steady_clock::now() > deadline_; }

std::optional<TermResult> Evaluation::count_void(const std::string& name) {
  if (++void_lookups_ > options_.max_void_lookups) {
    return TermResult::fail(Result::PermError, "more than " +
                                                   std::to_string(options_.max_void_lookups) +
                                                   " lookups found nothing (at " + name + ")");
  }
  return std::nullopt;
}

} // namespace detail

} // namespace backstop::spf
