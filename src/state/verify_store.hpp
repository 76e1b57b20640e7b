// verify_store: the remembered answers of primaries about recipient addresses (the
// verification cache's durable tier). Calls block: callers run them on the store's own
// thread (state/async_store.hpp), never on an event loop. Each entry carries its expiry as
// data (expires_at), which a Redis backend turns into the key's TTL.
#pragma once

#include "state/error.hpp"
#include "state/verify_entry.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backstop::state {

class VerifyStore {
public:
  virtual ~VerifyStore() = default;

  // An entry that has expired at now is not returned.
  virtual Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                        std::int64_t now) = 0;
  virtual Status put_verify(const VerifyEntry& entry) = 0;
  virtual Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) = 0;
  // pattern: "" = everything, "@domain" = that domain, else one address. Returns the count.
  virtual Result<std::size_t> erase_verify(const std::string& pattern) = 0;
  // Removes what expired (Redis lets keys expire by themselves and answers 0).
  virtual Result<std::size_t> erase_expired(std::int64_t now) = 0;
};

} // namespace backstop::state
