// contact_store: which of a domain's MX hosts each client address contacted, and when. Our
// own listeners record every session's client; `backstop ingest` feeds in the contacts that
// the primary's mail log shows. A client that reached a less-preferred MX (us) with no
// contact to a more-preferred one within a window "skipped the primary" (checks/
// skipped_primary.cpp). One row per (address, host, source) keeps the first and last time
// and a count, so a flood of connections does not grow the store. Every operation is ONE
// atomic call with its lifetime as data (expires_at = last contact + keep), so a Redis
// backend is a drop-in (issue 16): per address a sorted set of "host source" members scored
// by the last contact (ZADD GT) beside a hash of first times and counts, per host a key of
// its newest contact, every key with EXPIREAT. Calls block: run them on the store's own
// thread (state/async_contact_store.hpp).
#pragma once
#include "state/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backstop::state {

// One contact seen: a session with a listener of ours, or a log line of the primary.
struct Contact {
  std::string address; // the client, textual and unmapped ("192.0.2.7", "2001:db8::7")
  std::string host;    // which MX it contacted: "mx1.example.org" (lower case) or "127.0.0.2:25"
  std::string source;  // who saw it: "listener smtp 127.0.0.2:25", "ingest postfix"
  std::int64_t at = 0; // unix seconds
};

// What is remembered of one (address, host, source).
struct ContactHistory {
  std::string address;
  std::string host;
  std::string source;
  std::int64_t first_at = 0;
  std::int64_t last_at = 0;
  std::uint64_t count = 0;
  std::int64_t expires_at = 0;
};

// The evidence about one host for one client: its newest contact there, and the newest
// contact of anyone there (0 = none remembered). A host nobody reached lately means the
// feed is silent (the primary down, or ingest not running): nobody can be judged by it.
struct HostEvidence {
  std::string host;
  std::int64_t client_last = 0;
  std::int64_t anyone_last = 0;
};

// Where `backstop ingest` stopped in a log file: the file's identity and the byte offset
// after the last complete line read. A file with another identity (rotated) or shorter
// than the offset (truncated) is read from its start.
struct IngestPosition {
  std::string file; // absolute path: the key
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;
};

class ContactStore {
public:
  virtual ~ContactStore() = default;
  // Atomically: each contact counted (first and last time, count), its row and its host's
  // newest contact kept until last contact + keep seconds. Contacts may come in any order.
  virtual Status record(const std::vector<Contact>& contacts, std::int64_t keep) = 0;
  // record() and the ingest position moved in the same transaction, so a crash between
  // them neither loses nor counts twice a batch of log lines.
  virtual Status record_ingested(const std::vector<Contact>& contacts, std::int64_t keep,
                                 const IngestPosition& position) = 0;
  virtual Result<std::optional<IngestPosition>> position(const std::string& file) = 0;
  // Every remembered contact of one address, newest first; expired rows are not returned.
  virtual Result<std::vector<ContactHistory>> contacts(const std::string& address,
                                                       std::int64_t now) = 0;
  // One answer per host (in the order given), not expired by now.
  virtual Result<std::vector<HostEvidence>>
  evidence(const std::string& address, const std::vector<std::string>& hosts, std::int64_t now) = 0;
  // evidence() of each query, in order: several sessions' reads at once (Redis pipelines them
  // into one round trip; SQLite reads each in turn).
  struct EvidenceQuery {
    std::string address;
    std::vector<std::string> hosts;
    std::int64_t now = 0;
  };
  virtual Result<std::vector<Result<std::vector<HostEvidence>>>>
  evidence_each(const std::vector<EvidenceQuery>& queries) {
    std::vector<Result<std::vector<HostEvidence>>> out;
    out.reserve(queries.size());
    for (const auto& q : queries) {
      out.push_back(evidence(q.address, q.hosts, q.now));
    }
    return out;
  }
  // Removes rows expired by now (Redis: keys expire by themselves).
  virtual Result<std::size_t> erase_expired(std::int64_t now) = 0;
};

} // namespace backstop::state
