// session_options: what every SMTP session shares, read-only: limits, names, and the
// interfaces it asks (policy pipeline, spool, ETRN handler). Built once by app.
#pragma once

#include "mail/address.hpp"
#include "mail/clock.hpp"
#include "mail/reply.hpp"
#include "metrics/counters.hpp"

#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::policy {
class PipelineSlot;
}
namespace backstop::queue {
class Spool;
}

namespace backstop::smtp {

struct SessionLimits {
  std::uint64_t max_message_size = 26214400;
  std::size_t max_recipients = 100;
  std::size_t max_errors = 10;
  std::size_t max_command_line = 512; // RFC 5321 4.5.3.1.4, CRLF included
  std::size_t max_data_line = 1000;   // RFC 5321 4.5.3.1.6, CRLF included
  bool reject_bare_line_endings = true;
  std::size_t hop_count_limit = 50; // more Received headers than this: a mail loop
  std::chrono::seconds greeting_delay{0};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{180};
};

// ETRN (RFC 1985): the delivery side implements it; the session only asks.
class EtrnHandler {
public:
  virtual ~EtrnHandler() = default;
  virtual mail::Reply on_etrn(const std::string& client_ip, const std::string& argument) = 0;
};

struct SessionOptions {
  std::string hostname;
  mail::Address postmaster; // where <postmaster> (no domain) is delivered
  SessionLimits limits;
  const policy::PipelineSlot* pipeline = nullptr; // sessions take a snapshot at start
  queue::Spool* spool = nullptr;
  asio::ssl::context* tls = nullptr; // STARTTLS offered when set
  EtrnHandler* etrn = nullptr;
  const mail::Clock* clock = nullptr;
  std::shared_ptr<spdlog::logger> log;
  metrics::Counters* counters = nullptr;
};

} // namespace backstop::smtp
