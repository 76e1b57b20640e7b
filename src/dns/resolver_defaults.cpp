// resolver_defaults: record types a Resolver implementation does not offer fail temporarily.
#include "dns/resolver.hpp"

namespace backstop::dns {

namespace {
constexpr const char* unsupported = "record type not supported by this resolver";
}

asio::awaitable<AddressAnswer> Resolver::a(std::string) {
  co_return AddressAnswer{Status::TempFail, {}, unsupported};
}
asio::awaitable<AddressAnswer> Resolver::aaaa(std::string) {
  co_return AddressAnswer{Status::TempFail, {}, unsupported};
}
asio::awaitable<TextAnswer> Resolver::txt(std::string) {
  co_return TextAnswer{Status::TempFail, {}, unsupported};
}
asio::awaitable<NameAnswer> Resolver::ptr(asio::ip::address) {
  co_return NameAnswer{Status::TempFail, {}, unsupported};
}

} // namespace backstop::dns
