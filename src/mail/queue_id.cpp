// queue_id: hex form of queue ids.
#include "mail/queue_id.hpp"

namespace backstop::mail {

std::string QueueId::to_string() const {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out(16, '0');
  std::uint64_t v = value;
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[v & 0xF];
    v >>= 4;
  }
  return out;
}

std::optional<QueueId> QueueId::parse(std::string_view text) {
  if (text.empty() || text.size() > 16) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : text) {
    int d = -1;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return QueueId{v};
}

} // namespace backstop::mail
