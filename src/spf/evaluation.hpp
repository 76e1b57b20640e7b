// evaluation: the state of one check_host() call from outside, shared by the nested calls
// of include and redirect: the macro values, the counters of 4.6.4, the deadline. Internal
// to spf/ (evaluator.cpp, mechanisms.cpp, explanation.cpp).
#pragma once

#include "spf/evaluator.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

#include <array>
#include <map>
#include <optional>
#include <vector>

namespace backstop::spf::detail {

// A term either matches, does not, or ends the evaluation with an error result.
struct TermResult {
  enum Kind { Match, NoMatch, Error } kind = NoMatch;
  Outcome error;

  static TermResult match() { return {Match, {}}; }
  static TermResult no_match() { return {NoMatch, {}}; }
  static TermResult fail(Result result, std::string reason) {
    return {Error, Outcome{result, {}, std::move(reason), {}}};
  }
};

class Evaluation {
public:
  Evaluation(const Evaluator& evaluator, asio::ip::address ip, std::string sender,
             std::string helo);

  // check_host() for domain: a fresh <domain>, the same counters. explain: work out the
  // explanation of a fail (not for include, whose exp= is never used).
  asio::awaitable<Outcome> check_domain(std::string domain, bool explain);

private:
  asio::awaitable<Outcome> evaluate(const Record& record, std::string domain, bool explain);
  asio::awaitable<TermResult> match(const Directive& directive, const std::string& domain);
  asio::awaitable<TermResult> match_include(const Directive& d, const std::string& domain);
  asio::awaitable<TermResult> match_hosts(const Directive& d, const std::string& domain);
  asio::awaitable<TermResult> match_mx(const Directive& d, const std::string& domain);
  asio::awaitable<TermResult> match_ptr(const Directive& d, const std::string& domain);
  asio::awaitable<TermResult> match_exists(const Directive& d, const std::string& domain);
  asio::awaitable<TermResult> address_match(const std::string& host, const Directive& d,
                                            bool count_void);

  // The target of a term or modifier, ready to ask; "" when no query can be formed.
  asio::awaitable<std::string> target_name(const std::optional<MacroString>& spec,
                                           const std::string& domain);
  asio::awaitable<std::string> expand(const MacroString& text, const std::string& domain);
  asio::awaitable<std::string> validated_name(const std::string& domain);
  struct PtrNames {
    dns::Status status = dns::Status::TempFail;
    std::vector<std::string> names; // the first 10 (4.6.4), lower case
  };
  asio::awaitable<PtrNames> ptr_names();
  asio::awaitable<bool> host_has_client(const std::string& host);
  asio::awaitable<std::string> explanation(const Record& record, const std::string& domain);
  asio::awaitable<std::optional<MacroString>> explanation_text(const MacroString& spec,
                                                               const std::string& domain);

  // The lookups, each first checking the deadline (a TempFail answer once it has passed).
  asio::awaitable<dns::TextAnswer> txt(const std::string& name);
  asio::awaitable<dns::AddressAnswer> addresses(const std::string& name);
  asio::awaitable<dns::AddressAnswer> a(const std::string& name);
  asio::awaitable<dns::MxAnswer> mx(const std::string& name);
  bool past_deadline() const;

  // An error result when one more void lookup is over the limit.
  std::optional<TermResult> count_void(const std::string& name);
  bool client_in(const asio::ip::address& address, const Directive& d) const;

  const Evaluator& evaluator_;
  const EvaluatorOptions& options_;
  dns::Resolver& resolver_;
  asio::ip::address client_; // IPv4-mapped IPv6 already made IPv4 (5/9/2)
  MacroValues values_;
  unsigned dns_terms_ = 0;
  unsigned void_lookups_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<PtrNames> ptr_names_; // asked once per evaluation
};

// The client's address as the i macro writes it: dotted quad, or 32 dotted hex nibbles.
std::string dotted_address(const asio::ip::address& address);
// 4.3: a multi-label name, labels of 1 to 63 octets, at most 253 in all, no address literal.
bool well_formed_domain(std::string_view domain);

} // namespace backstop::spf::detail
