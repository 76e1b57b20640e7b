// redis_connection: hiredis' blocking API with timeouts, the circuit breaker and EVALSHA.
#include "state/redis_connection.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <hiredis/hiredis.h>
#include <optional>
#include <sys/time.h>

namespace backstop::state {

namespace {

constexpr std::chrono::milliseconds first_backoff{100};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool parse_int(std::string_view text, int& out) {
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && p == end;
}

RedisValue value_of(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
  case REDIS_REPLY_INTEGER:
    v.type = RedisValue::Type::Integer;
    v.integer = r->integer;
    break;
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
    v.type = r->type == REDIS_REPLY_STRING ? RedisValue::Type::String : RedisValue::Type::Status;
    v.text.assign(r->str, r->len);
    break;
  case REDIS_REPLY_ARRAY:
    v.type = RedisValue::Type::Array;
    for (std::size_t i = 0; i < r->elements; ++i) {
      v.elements.push_back(value_of(r->element[i]));
    }
    break;
  default:
    break;
  }
  return v;
}

} // namespace

void RedisReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

mail::Result<RedisAddress> parse_redis_url(const std::string& url) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) {
    return mail::make_error("must start with redis:// (rediss:// and unix sockets: not supported)");
  }
  std::string rest = url.substr(scheme.size());
  RedisAddress a;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    a.password = auth.substr(auth.find(':') == std::string::npos ? 0 : auth.find(':') + 1);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, a.db) || a.db < 0)) {
      return mail::make_error("database \"" + db + "\" is not a number");
    }
    rest = rest.substr(0, slash);
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) {
      return mail::make_error("unclosed [ in the host");
    }
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') {
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.find(':'); colon != std::string::npos) {
    a.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else if (!rest.empty()) {
    a.host = rest;
  }
  if (!port.empty() && (!parse_int(port, a.port) || a.port <= 0 || a.port > 65535)) {
    return mail::make_error("port \"" + port + "\" is not a port");
  }
  if (a.host.empty()) {
    return mail::make_error("no host");
  }
  return a;
}

RedisConnection::RedisConnection(RedisOptions options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) {
    redisFree(context_);
  }
}

Status RedisConnection::connect() {
  std::lock_guard lock(mutex_);
  return open_locked();
}

Status RedisConnection::open_locked() {
  const auto& a = options_.address;
  redisContext* c =
      redisConnectWithTimeout(a.host.c_str(), a.port, to_timeval(options_.connect_timeout));
  reached_server_ = c != nullptr && c->err == 0;
  if (c == nullptr || c->err != 0) {
    const std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) {
      redisFree(c);
    }
    return fail(ErrorKind::Unavailable,
                "connect to " + a.host + ":" + std::to_string(a.port) + ": " + why);
  }
  redisSetTimeout(c, to_timeval(options_.timeout));
  current_timeout_ = options_.timeout;
  context_ = c;
  shas_.clear(); // a restarted Redis forgot them
  std::vector<std::vector<std::string>> hello;
  if (!a.password.empty()) {
    hello.push_back({"AUTH", a.password});
  }
  if (a.db != 0) {
    hello.push_back({"SELECT", std::to_string(a.db)});
  }
  if (!hello.empty()) {
    if (auto done = round_trip(hello); !done) {
      return done.error();
    }
  }
  backoff_ = std::chrono::milliseconds{0};
  report(true, "connected to " + a.host + ":" + std::to_string(a.port));
  return mail::Ok{};
}

Status RedisConnection::ensure_connected(Deadline deadline) {
  if (context_ == nullptr) {
    if (std::chrono::steady_clock::now() < retry_at_) {
      if (options_.error) {
        options_.error();
      }
      return make_error(ErrorKind::Unavailable, "state store: redis is down (retrying later)");
    }
    if (auto opened = open_locked(); !opened) {
      return opened;
    }
  }
  const auto wanted = deadline.value_or(options_.timeout);
  if (wanted != current_timeout_) {
    redisSetTimeout(context_, to_timeval(wanted));
    current_timeout_ = wanted;
  }
  return mail::Ok{};
}

Result<RedisValue> RedisConnection::command(const std::vector<std::string>& args,
                                            Deadline deadline) {
  auto replies = pipeline({args}, deadline);
  if (!replies) {
    return replies.error();
  }
  return std::move(replies.value().front());
}

Result<std::vector<RedisValue>>
RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands,
                          Deadline deadline) {
  std::lock_guard lock(mutex_);
  if (auto up = ensure_connected(deadline); !up) {
    return up.error();
  }
  return round_trip(commands);
}

Result<std::vector<RedisValue>>
RedisConnection::round_trip(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
  }
  std::vector<RedisValue> out;
  std::optional<Error> first_error;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      const bool slow = context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      return fail(
          slow ? ErrorKind::Timeout : ErrorKind::Unavailable,
          std::string(slow ? "no answer within " + std::to_string(current_timeout_.count()) + " ms"
                           : context_->errstr));
    }
    RedisReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      if (!first_error) { // read the other replies: the connection stays in step
        first_error = reply_error(std::string(reply->str, reply->len));
      }
      out.emplace_back();
      continue;
    }
    out.push_back(value_of(reply.get()));
  }
  if (first_error) {
    return *first_error;
  }
  return out;
}

Result<RedisValue> RedisConnection::eval(const std::string& script,
                                         const std::vector<std::string>& keys,
                                         const std::vector<std::string>& args, Deadline deadline) {
  std::lock_guard lock(mutex_);
  if (auto up = ensure_connected(deadline); !up) {
    return up.error();
  }
  auto known = shas_.find(script);
  if (known == shas_.end()) {
    auto loaded = round_trip({{"SCRIPT", "LOAD", script}});
    if (!loaded) {
      return loaded.error();
    }
    known = shas_.emplace(script, loaded.value().front().text).first;
  }
  std::vector<std::string> call{"EVALSHA", known->second, std::to_string(keys.size())};
  call.insert(call.end(), keys.begin(), keys.end());
  call.insert(call.end(), args.begin(), args.end());
  auto done = round_trip({call});
  if (!done && done.error().message.find("NOSCRIPT") != std::string::npos) {
    call[0] = "EVAL"; // flushed by SCRIPT FLUSH: the text once, loaded again by Redis
    call[1] = script;
    done = round_trip({call});
  }
  if (!done) {
    return done.error();
  }
  return std::move(done.value().front());
}

Error RedisConnection::reply_error(const std::string& text) {
  if (options_.error) {
    options_.error();
  }
  ErrorKind kind = ErrorKind::Internal;
  if (text.rfind("READONLY", 0) == 0) {
    kind = ErrorKind::ReadOnly;
  } else if (text.rfind("LOADING", 0) == 0 || text.rfind("BUSY", 0) == 0 ||
             text.rfind("MASTERDOWN", 0) == 0 || text.rfind("NOAUTH", 0) == 0 ||
             text.rfind("WRONGPASS", 0) == 0 || text.rfind("OOM", 0) == 0) {
    kind = ErrorKind::Unavailable;
  } else if (text.rfind("WRONGTYPE", 0) == 0) {
    kind = ErrorKind::Corrupt;
  }
  return make_error(kind, "state store: redis: " + text);
}

Error RedisConnection::fail(ErrorKind kind, const std::string& why) {
  if (options_.error) {
    options_.error();
  }
  if (context_ != nullptr) {
    redisFree(context_); // its replies are out of step now: a fresh connection later
    context_ = nullptr;
  }
  backoff_ = std::clamp(backoff_ * 2, first_backoff, options_.max_backoff);
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  report(false, why);
  return make_error(kind, "state store: redis: " + why);
}

void RedisConnection::report(bool up, const std::string& why) {
  if (up == up_) {
    return;
  }
  up_ = up;
  if (options_.health) {
    options_.health(up, why);
  }
}

} // namespace backstop::state
