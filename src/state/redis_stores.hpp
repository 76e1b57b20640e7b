// redis_stores: the Redis implementation of each concern, over one shared RedisConnection.
// Every key starts with the configured prefix ("backstop:" by default); the layout of each
// concern is in docs/architecture.md. Values that have a lifetime carry it as data too
// (expires_at, checked against the caller's `now` as SQLite does) and the key a TTL, so
// Redis forgets them by itself; erase_expired has little or nothing left to do.
#pragma once

#include "state/contact_store.hpp"
#include "state/greylist_store.hpp"
#include "state/offender_store.hpp"
#include "state/primary_status_store.hpp"
#include "state/redis_connection.hpp"
#include "state/store.hpp"
#include "state/verify_store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::state {

// What a store needs to reach Redis: the connection and the key prefix.
struct RedisSpace {
  RedisConnection& redis;
  std::string prefix;

  std::string key(std::string_view kind, std::string_view id) const {
    return prefix + std::string(kind) + ":" + std::string(id);
  }
};

// Bulk work that is not on a check's path (SCAN for the CLI, a batch of contacts).
inline constexpr std::chrono::milliseconds redis_bulk_timeout{2000};

// Fields of one value joined by the unit separator (0x1f), which our data never holds.
inline constexpr char redis_separator = '\x1f';
std::string redis_join(const std::vector<std::string>& fields);
std::vector<std::string> redis_split(std::string_view value);
// A glob pattern for SCAN MATCH that matches the text literally.
std::string redis_glob_escape(std::string_view text);
// An integer reply or an integer in a string reply; 0 for anything else.
std::int64_t redis_integer(const RedisValue& value);
std::int64_t redis_integer(std::string_view text);
// Every key matching pattern (SCAN, one round trip per 1000 keys).
Result<std::vector<std::string>> redis_scan(RedisConnection& redis, const std::string& pattern);
// A key's time to live in whole seconds from `now` until `at` (at least 1: EXPIRE 0 deletes).
inline std::int64_t redis_ttl(std::int64_t at, std::int64_t now) {
  return at - now > 1 ? at - now : 1;
}

std::unique_ptr<VerifyStore> make_redis_verify_store(RedisSpace space);
std::unique_ptr<GreylistStore> make_redis_greylist_store(RedisSpace space);
std::unique_ptr<OffenderStore> make_redis_offender_store(RedisSpace space);
std::unique_ptr<PrimaryStatusStore> make_redis_primary_status_store(RedisSpace space);
std::unique_ptr<ContactStore> make_redis_contact_store(RedisSpace space);

mail::Result<std::unique_ptr<Store>> open_redis(const StoreOptions& options);

} // namespace backstop::state
