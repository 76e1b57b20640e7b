// special_use: a suffix match on whole labels.
#include "dns/special_use.hpp"

#include "mail/address.hpp"

#include <array>

namespace backstop::dns {

std::optional<std::string_view> special_use_name(std::string_view domain) {
  static constexpr std::array<std::string_view, 3> names{"localhost", "invalid", "onion"};
  const std::string d = mail::normalize_domain(domain);
  for (const std::string_view name : names) {
    if (d == name) {
      return name;
    }
    if (d.size() > name.size() && d.ends_with(name) && d[d.size() - name.size() - 1] == '.') {
      return name;
    }
  }
  return std::nullopt;
}

} // namespace backstop::dns
