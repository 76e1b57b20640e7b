// ip_address: dotted-quad text without inet_ntop, whose sprintf made formatting a client
// address one of the costliest steps of a connection.
#include "mail/ip_address.hpp"

namespace backstop::mail {

namespace {

void append_octet(std::string& out, unsigned value) {
  if (value >= 100) {
    out += static_cast<char>('0' + value / 100);
  }
  if (value >= 10) {
    out += static_cast<char>('0' + value / 10 % 10);
  }
  out += static_cast<char>('0' + value % 10);
}

} // namespace

std::string address_text(const asio::ip::address& address) {
  if (!address.is_v4()) {
    return address.to_string();
  }
  const auto bytes = address.to_v4().to_bytes();
  std::string out;
  out.reserve(15);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) {
      out += '.';
    }
    append_octet(out, bytes[i]);
  }
  return out;
}

} // namespace backstop::mail
