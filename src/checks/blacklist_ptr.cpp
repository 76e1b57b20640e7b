// blacklist_ptr: PTR, then each name's addresses (at most ten names, RFC 8601 2.7.3); the
// first name that resolves back to the client is its confirmed name.
#include "checks/blacklist_ptr.hpp"

#include "mail/ip_address.hpp"

#include <algorithm>

namespace backstop::checks {

namespace {

constexpr std::size_t max_names_checked = 10;

bool lists(const std::vector<asio::ip::address>& addresses, const asio::ip::address& client) {
  return std::any_of(addresses.begin(), addresses.end(),
                     [&](const asio::ip::address& a) { return mail::unmapped(a) == client; });
}

} // namespace

asio::awaitable<PtrName> look_up_confirmed_ptr(dns::Resolver* resolver, asio::ip::address client) {
  client = mail::unmapped(client);
  PtrName out;
  const dns::NameAnswer ptr = co_await resolver->ptr(client);
  if (ptr.status == dns::Status::TempFail) {
    out.trouble = true;
    co_return out;
  }
  if (ptr.status != dns::Status::Found) {
    co_return out;
  }
  const std::size_t n = std::min(ptr.names.size(), max_names_checked);
  for (std::size_t i = 0; i < n; ++i) {
    const dns::AddressAnswer forward = co_await resolver->addresses(ptr.names[i]);
    if (forward.status == dns::Status::Found && lists(forward.addresses, client)) {
      out.name = ptr.names[i];
      co_return out;
    }
    out.trouble = out.trouble || forward.status == dns::Status::TempFail;
  }
  co_return out;
}

asio::awaitable<std::string> confirmed_ptr_name(dns::Resolver* resolver, std::string address) {
  std::error_code ec;
  const auto client = asio::ip::make_address(address, ec);
  if (ec || resolver == nullptr) {
    co_return std::string();
  }
  const PtrName found = co_await look_up_confirmed_ptr(resolver, client);
  co_return found.name;
}

asio::awaitable<PtrName> confirmed_ptr(const policy::SessionContext& context, bool wanted,
                                       dns::Resolver* resolver) {
  const std::string_view confirmed = context.fact(policy::facts::ptr_confirmed);
  if (confirmed == "yes") {
    co_return PtrName{std::string(context.fact(policy::facts::ptr)), false};
  }
  if (confirmed == "no" || !wanted || resolver == nullptr) {
    co_return PtrName{};
  }
  co_return co_await look_up_confirmed_ptr(resolver, context.client.address);
}

} // namespace backstop::checks
