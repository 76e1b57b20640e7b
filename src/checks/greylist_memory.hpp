// greylist_memory: what the greylist check learnt recently, answered on the session's own
// loop: a triplet that passed, or a network that is allowlisted, is taken again without a
// trip to the state store until `refresh` has passed. Then the store is asked again, which
// extends the entry's lifetime there and counts the pass. Bounded: at `capacity` entries
// the expired ones go, and if none has expired, all of them (the store still knows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace backstop::checks {

class GreylistMemory {
public:
  explicit GreylistMemory(std::size_t capacity = 100000) : capacity_(capacity) {}

  bool known(const std::string& key, std::int64_t now) const;
  void remember(const std::string& key, std::int64_t until, std::int64_t now);

private:
  std::size_t capacity_;
  mutable std::mutex mutex_; // sessions of every loop share one check
  std::unordered_map<std::string, std::int64_t> until_;
};

} // namespace backstop::checks
