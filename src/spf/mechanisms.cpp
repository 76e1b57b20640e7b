// mechanisms: whether one directive's mechanism matches the client (RFC 7208 5), with the
// DNS lookups it needs and the limits on them (4.6.4).
#include "mail/address.hpp"
#include "mail/ip_address.hpp"
#include "spf/evaluation.hpp"

namespace backstop::spf::detail {

namespace {

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  unsigned bits) {
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned mask = 0x80u >> (i % 8);
    if ((a[i / 8] & mask) != (b[i / 8] & mask)) {
      return false;
    }
  }
  return true;
}

std::array<std::uint8_t, 16> bytes_of(const asio::ip::address& address) {
  std::array<std::uint8_t, 16> out{};
  if (address.is_v4()) {
    const auto four = address.to_v4().to_bytes();
    std::copy(four.begin(), four.end(), out.begin());
  } else {
    const auto six = address.to_v6().to_bytes();
    std::copy(six.begin(), six.end(), out.begin());
  }
  return out;
}

bool ends_with_domain(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() &&
                            name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
                            name[name.size() - domain.size() - 1] == '.');
}

TermResult dns_error(std::string_view type, const std::string& name, const std::string& error) {
  return TermResult::fail(Result::TempError, "DNS error looking up " + std::string(type) + " of " +
                                                 name + (error.empty() ? "" : ": " + error));
}

} // namespace

bool Evaluation::client_in(const asio::ip::address& address, const Directive& d) const {
  const auto candidate = mail::unmapped(address);
  if (candidate.is_v4() != client_.is_v4()) {
    return false;
  }
  return prefix_equal(bytes_of(candidate), bytes_of(client_), client_.is_v4() ? d.cidr4 : d.cidr6);
}

asio::awaitable<TermResult> Evaluation::match(const Directive& d, const std::string& domain) {
  switch (d.mechanism) {
  case Mechanism::All:
    co_return TermResult::match();
  case Mechanism::Ip4:
  case Mechanism::Ip6: {
    if ((d.mechanism == Mechanism::Ip4) != client_.is_v4()) {
      co_return TermResult::no_match();
    }
    const auto bits = client_.is_v4() ? d.cidr4 : d.cidr6;
    co_return prefix_equal(d.network, bytes_of(client_), bits) ? TermResult::match()
                                                               : TermResult::no_match();
  }
  case Mechanism::Include:
    co_return co_await match_include(d, domain);
  case Mechanism::A:
    co_return co_await match_hosts(d, domain);
  case Mechanism::Mx:
    co_return co_await match_mx(d, domain);
  case Mechanism::Ptr:
    co_return co_await match_ptr(d, domain);
  case Mechanism::Exists:
    co_return co_await match_exists(d, domain);
  }
  co_return TermResult::no_match();
}

// 5.2: pass matches; fail, softfail and neutral do not; temperror stays; none and permerror
// are permerror.
asio::awaitable<TermResult> Evaluation::match_include(const Directive& d,
                                                      const std::string& domain) {
  const auto target = co_await target_name(d.target, domain);
  const auto inner = co_await check_domain(target, false);
  switch (inner.result) {
  case Result::Pass:
    co_return TermResult::match();
  case Result::Fail:
  case Result::SoftFail:
  case Result::Neutral:
    co_return TermResult::no_match();
  case Result::TempError:
    co_return TermResult{TermResult::Error, inner};
  case Result::None:
  case Result::PermError:
    break;
  }
  co_return TermResult::fail(Result::PermError, "include:" + target + " gave " +
                                                    std::string(result_name(inner.result)) + ": " +
                                                    inner.reason);
}

asio::awaitable<TermResult> Evaluation::match_hosts(const Directive& d, const std::string& domain) {
  const auto target = co_await target_name(d.target, domain);
  if (target.empty()) {
    co_return TermResult::no_match();
  }
  co_return co_await address_match(target, d, true);
}

// The addresses of host of the client's family (A or AAAA), inside the directive's prefix.
asio::awaitable<TermResult> Evaluation::address_match(const std::string& host, const Directive& d,
                                                      bool void_counts) {
  const auto answer = co_await addresses(host);
  if (answer.status == dns::Status::TempFail) {
    co_return dns_error(client_.is_v4() ? "A" : "AAAA", host, answer.error);
  }
  if (answer.status != dns::Status::Found || answer.addresses.empty()) {
    if (void_counts) {
      if (auto over = count_void(host)) {
        co_return *over;
      }
    }
    co_return TermResult::no_match();
  }
  for (const auto& address : answer.addresses) {
    if (client_in(address, d)) {
      co_return TermResult::match();
    }
  }
  co_return TermResult::no_match();
}

// 5.4: the addresses of each MX name; more than 10 names is permerror (4.6.4).
asio::awaitable<TermResult> Evaluation::match_mx(const Directive& d, const std::string& domain) {
  const auto target = co_await target_name(d.target, domain);
  if (target.empty()) {
    co_return TermResult::no_match();
  }
  const auto answer = co_await mx(target);
  if (answer.status == dns::Status::TempFail) {
    co_return dns_error("MX", target, answer.error);
  }
  if (answer.status != dns::Status::Found || answer.records.empty()) {
    if (auto over = count_void(target)) {
      co_return *over;
    }
    co_return TermResult::no_match();
  }
  if (answer.records.size() > options_.max_names) {
    co_return TermResult::fail(Result::PermError, target + " has more than " +
                                                      std::to_string(options_.max_names) +
                                                      " MX records");
  }
  for (const auto& record : answer.records) {
    if (record.exchange.empty()) {
      continue; // the null MX "." (RFC 7505) names no host
    }
    const auto term = co_await address_match(record.exchange, d, false);
    if (term.kind != TermResult::NoMatch) {
      co_return term;
    }
  }
  co_return TermResult::no_match();
}

// 5.5: a validated name of the client that is the target or below it. DNS errors in the
// lookups mean no match, not temperror.
asio::awaitable<TermResult> Evaluation::match_ptr(const Directive& d, const std::string& domain) {
  auto target = co_await target_name(d.target, domain);
  if (target.empty()) {
    co_return TermResult::no_match();
  }
  target = mail::ascii_lower(target);
  const auto ptr = co_await ptr_names();
  if (ptr.status == dns::Status::NoData || ptr.status == dns::Status::NxDomain) {
    if (auto over = count_void(values_.client)) {
      co_return *over;
    }
  }
  for (const auto& name : ptr.names) {
    if (!ends_with_domain(name, target)) {
      continue;
    }
    const bool valid = co_await host_has_client(name);
    if (valid) {
      co_return TermResult::match();
    }
  }
  co_return TermResult::no_match();
}

// 5.7: any A record, whatever the client's family.
asio::awaitable<TermResult> Evaluation::match_exists(const Directive& d,
                                                     const std::string& domain) {
  const auto target = co_await target_name(d.target, domain);
  if (target.empty()) {
    co_return TermResult::no_match();
  }
  const auto answer = co_await a(target);
  if (answer.status == dns::Status::TempFail) {
    co_return dns_error("A", target, answer.error);
  }
  if (answer.status != dns::Status::Found || answer.addresses.empty()) {
    if (auto over = count_void(target)) {
      co_return *over;
    }
    co_return TermResult::no_match();
  }
  co_return TermResult::match();
}

asio::awaitable<Evaluation::PtrNames> Evaluation::ptr_names() {
  if (!ptr_names_) {
    PtrNames ptr;
    if (!past_deadline()) {
      const auto answer = co_await resolver_.ptr(client_);
      ptr.status = answer.status;
      for (const auto& name : answer.names) {
        if (ptr.names.size() == options_.max_names) {
          break; // 4.6.4: only the first 10 names are looked at
        }
        ptr.names.push_back(mail::normalize_domain(name));
      }
    }
    ptr_names_ = std::move(ptr);
  }
  co_return *ptr_names_;
}

asio::awaitable<bool> Evaluation::host_has_client(const std::string& host) {
  const auto answer = co_await addresses(host);
  if (answer.status != dns::Status::Found) {
    co_return false;
  }
  for (const auto& address : answer.addresses) {
    if (address == client_) {
      co_return true;
    }
  }
  co_return false;
}

asio::awaitable<dns::TextAnswer> Evaluation::txt(const std::string& name) {
  if (past_deadline()) {
    co_return dns::TextAnswer{dns::Status::TempFail, {}, "SPF evaluation took too long"};
  }
  co_return co_await resolver_.txt(name);
}

asio::awaitable<dns::AddressAnswer> Evaluation::addresses(const std::string& name) {
  if (past_deadline()) {
    co_return dns::AddressAnswer{dns::Status::TempFail, {}, "SPF evaluation took too long"};
  }
  if (client_.is_v4()) {
    co_return co_await resolver_.a(name);
  }
  co_return co_await resolver_.aaaa(name);
}

asio::awaitable<dns::AddressAnswer> Evaluation::a(const std::string& name) {
  if (past_deadline()) {
    co_return dns::AddressAnswer{dns::Status::TempFail, {}, "SPF evaluation took too long"};
  }
  co_return co_await resolver_.a(name);
}

asio::awaitable<dns::MxAnswer> Evaluation::mx(const std::string& name) {
  if (past_deadline()) {
    co_return dns::MxAnswer{dns::Status::TempFail, {}, "SPF evaluation took too long"};
  }
  co_return co_await resolver_.mx(name);
}

} // namespace backstop::spf::detail
