// proxy_header_fuzz: the PROXY header parser stays in bounds, claims no more than it was given,
// and keeps the promise the reader relies on: NeedMore only for a strict prefix of a header
// (every shorter prefix needs more too), so consuming it never swallows a client's byte.
#include "smtp/proxy_header.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using backstop::smtp::parse_proxy_header;
using backstop::smtp::ProxyStatus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto h = parse_proxy_header(input);
  switch (h.status) {
  case ProxyStatus::Complete: {
    if (h.length == 0 || h.length > input.size()) {
      std::abort();
    }
    const auto again = parse_proxy_header(input.substr(0, h.length));
    if (again.status != ProxyStatus::Complete || again.length != h.length) {
      std::abort(); // the bytes after the header must not change it
    }
    if (parse_proxy_header(input.substr(0, h.length - 1)).status != ProxyStatus::NeedMore) {
      std::abort();
    }
    break;
  }
  case ProxyStatus::NeedMore:
    if (input.size() >= backstop::smtp::proxy_v2_fixed + backstop::smtp::proxy_v2_max_payload) {
      std::abort(); // a header cannot be this long
    }
    if (!input.empty() &&
        parse_proxy_header(input.substr(0, input.size() - 1)).status != ProxyStatus::NeedMore) {
      std::abort();
    }
    break;
  case ProxyStatus::Invalid:
    if (h.error.empty()) {
      std::abort();
    }
    break;
  }
  return 0;
}
