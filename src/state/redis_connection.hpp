// redis_connection: one hiredis connection to the shared Redis, used from the store's own
// thread (calls block, each with a hard deadline: redisConnectWithTimeout and redisSetTimeout).
// A call that fails on the connection drops it and opens a circuit: until the back-off has
// passed (doubling up to a few seconds) every call fails at once with Unavailable instead of
// trying again, so a dead Redis costs no deadline per call. Each down/up transition is
// reported once (the server logs it and counts it). Lua scripts run by EVALSHA, loaded on
// first use, so a script is one round trip of its SHA, not its text.
#pragma once

#include "state/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace backstop::state {

// Where Redis is: from `redis://[:password@]host[:port][/db]`.
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
};

// "redis://h:p/db" parsed, or the words why not (for the operator).
mail::Result<RedisAddress> parse_redis_url(const std::string& url);

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// A reply read into plain values: what the stores need of hiredis' redisReply.
struct RedisValue {
  enum class Type { Nil, Integer, String, Array, Status };
  Type type = Type::Nil;
  std::int64_t integer = 0;
  std::string text;
  std::vector<RedisValue> elements;

  bool nil() const { return type == Type::Nil; }
};

// Down (true -> false) and up again, with the reason in words.
using RedisHealthReport = std::function<void(bool up, const std::string& why)>;

struct RedisOptions {
  RedisAddress address;
  std::chrono::milliseconds timeout{10};          // per command or pipeline (one round trip)
  std::chrono::milliseconds connect_timeout{100}; // opening the connection
  std::chrono::milliseconds max_backoff{5000};    // the circuit stays open at most this long
  RedisHealthReport health;                       // may be empty
  std::function<void()> error;                    // each failed call; may be empty
};

class RedisConnection {
public:
  explicit RedisConnection(RedisOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Opens the connection now (startup checks that Redis is there); an error if not.
  Status connect();
  // Whether the last opening got as far as Redis (TCP connected): a failure after that, a
  // refused password or db, is a configuration error, not an outage.
  bool reached_server() const { return reached_server_; }

  // The deadline of a call: options' timeout, or a longer one given for bulk work (a batch
  // of contacts, the CLI's SCAN of every key) that is not on a check's path.
  using Deadline = std::optional<std::chrono::milliseconds>;

  // One command, its words as arguments (binary safe).
  Result<RedisValue> command(const std::vector<std::string>& args, Deadline deadline = {});
  // Several commands in one round trip; the replies in order.
  Result<std::vector<RedisValue>> pipeline(const std::vector<std::vector<std::string>>& commands,
                                           Deadline deadline = {});
  // A Lua script over keys with arguments: EVALSHA, EVAL once when Redis does not know it.
  Result<RedisValue> eval(const std::string& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args, Deadline deadline = {});

private:
  Status ensure_connected(Deadline deadline);
  Status open_locked();
  Result<std::vector<RedisValue>> round_trip(const std::vector<std::vector<std::string>>& commands);
  Error fail(ErrorKind kind, const std::string& why); // drops the connection, opens the circuit
  Error reply_error(const std::string& text);
  void report(bool up, const std::string& why);

  RedisOptions options_;
  std::mutex mutex_; // the CLI and the status page may share a store with the store thread
  redisContext* context_ = nullptr;
  bool up_ = true; // as last reported
  bool reached_server_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::milliseconds current_timeout_{0}; // as set on context_
  std::map<std::string, std::string> shas_;      // script text -> SHA1 known to this connection
};

} // namespace backstop::state
