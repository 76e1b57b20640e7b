// ingest: reads a primary MX's mail log (a file or a stream) and records each client's
// contact with the primary in the contact store, at the log line's time. A file's position
// (identity and offset) is kept in the store with each batch, so a cron job reads only what
// was appended since, and a rotated or truncated file is read from its start; a stream
// (`tail -n0 -F mail.log | backstop ingest -`) is recorded as it comes, one batch per read.
// Memory is bounded: one read buffer and at most one line of max_line bytes (longer lines
// are skipped as malformed). Malformed lines are counted, never fatal.
#pragma once

#include "app/ingest_parsers.hpp"
#include "mail/clock.hpp"
#include "mail/result.hpp"
#include "state/contact_store.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace backstop::app {

struct IngestOptions {
  LogFormat format = LogFormat::Postfix;
  std::string host;          // the MX the log belongs to; "" = each line's syslog host (Postfix)
  std::int64_t keep = 86400; // seconds contacts are kept
  std::size_t max_line = 16 * 1024;
  std::size_t chunk = 64 * 1024; // bytes per read, and so per batch
};

struct IngestCounts {
  std::uint64_t lines = 0;
  std::uint64_t contacts = 0;
  std::uint64_t other = 0;
  std::uint64_t malformed = 0;
  std::uint64_t start = 0;  // the offset reading began at (a file)
  std::uint64_t offset = 0; // the position remembered after the last complete line (a file)
};

mail::Result<IngestCounts> ingest_file(state::ContactStore& store,
                                       const std::filesystem::path& file,
                                       const IngestOptions& options, const mail::Clock& clock);
// Reads fd to its end (standard input: a pipe); nothing is remembered about its position.
mail::Result<IngestCounts> ingest_stream(state::ContactStore& store, int fd,
                                         const IngestOptions& options, const mail::Clock& clock);

} // namespace backstop::app
