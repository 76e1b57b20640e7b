// verify_entry: one remembered answer of a primary about one recipient address.
#pragma once

#include <cstdint>
#include <string>

namespace backstop::state {

enum class VerifyResult { Valid, Invalid };

struct VerifyEntry {
  std::string address; // "local@domain", domain lower case: the cache key
  VerifyResult result = VerifyResult::Valid;
  std::string reply;           // what the primary said, one line
  std::int64_t checked_at = 0; // unix seconds
  std::int64_t expires_at = 0; // unix seconds; the entry is ignored from then on
};

inline const char* to_string(VerifyResult r) {
  return r == VerifyResult::Valid ? "valid" : "invalid";
}

} // namespace backstop::state
