// queue_id: the identifier of a queued message, printed on every log line about it.
// A 64-bit number that only grows within one spool, shown as 16 upper-case hex digits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backstop::mail {

struct QueueId {
  std::uint64_t value = 0;
  std::string to_string() const;
  static std::optional<QueueId> parse(std::string_view text);
  auto operator<=>(const QueueId&) const = default;
};

} // namespace backstop::mail
