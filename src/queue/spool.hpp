// spool: the durable queue. A log-structured store: messages and their state changes are
// records appended to segment files and made durable by one fdatasync per batch (group
// commit, see group_commit.cpp), so many concurrent sessions share each sync.
//
// CONTRACT: a submit or update callback reporting success means the record is on disk:
// written, fdatasync'd, and (for a new segment) its directory fsync'd. On any write or sync
// error the whole batch fails, the segment is truncated back to its last durable length and
// nothing of the batch is claimed; a failed fsync marks the spool unhealthy (we never retry
// an fsync and then claim success: after a failed fsync the page cache cannot be trusted).
//
// Layout of dir/: lock (flock'd by the owner), segments/NNNNNNNNNNNNNNNN.seg, tmp/ (spill
// files, removed at open). Record format: record_codec.hpp.
//
// Thread-safety: all public methods may be called from any thread. Callbacks run on the
// committer thread; they must only post work elsewhere.
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"
#include "mail/result.hpp"
#include "queue/body_buffer.hpp"
#include "queue/message_state.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace backstop::queue {

struct SpoolOptions {
  std::filesystem::path dir;
  std::uint64_t segment_size = 64ull * 1024 * 1024; // rotate the active segment past this
  std::size_t spill_threshold = 256 * 1024;         // BodyBuffer memory limit
  std::size_t max_batch_bytes = 8 * 1024 * 1024;    // one group commit writes at most this
  // A batch that starts with fewer than commit_wait_for requests waits up to commit_delay for
  // more (as PostgreSQL's commit_delay): fewer, larger syncs for a little latency. It waits
  // only while other bodies are still arriving (as PostgreSQL's commit_siblings), and no
  // longer than until they have all arrived: a message with no company syncs at once.
  std::chrono::microseconds commit_delay{0};
  std::size_t commit_wait_for = 4;
  // The active segment is zero-filled this far ahead of its records: a sync of blocks that
  // exist costs no journal commit, one of an append does (0: append as before).
  std::uint64_t preallocate = 1 << 20;
  // Told of every group commit on the committer thread: the records it synced and how long
  // the fdatasync took (the metrics' histograms). Must be cheap; may be empty.
  std::function<void(std::size_t records, std::chrono::steady_clock::duration took)> on_sync;
};

enum class CommitError {
  DiskFull,    // ENOSPC / EDQUOT: 452 4.3.1
  WriteError,  // any other write/sync error: 451 4.3.0
  Unavailable, // spool unhealthy or shutting down: 451 4.3.0
};

struct CommitResult {
  std::optional<mail::QueueId> id; // set on success (for updates: the message's id)
  std::optional<CommitError> error;
  std::string detail; // strerror text etc., for the log
  bool ok() const { return !error.has_value(); }
};

using CommitCallback = std::function<void(CommitResult)>;

struct SpoolStats {
  std::size_t messages = 0;
  std::size_t segments = 0;
  std::uint64_t bytes_on_disk = 0;
  std::uint64_t commits = 0; // fdatasync batches
  std::uint64_t records_committed = 0;
  bool healthy = true;
  std::int64_t oldest_arrival = 0; // unix seconds of the oldest message queued; 0 = none
};

class Spool {
public:
  // Takes the lock (fails when another process holds it), removes tmp/ leftovers, replays
  // the segments (a torn record at a segment's end is cut off: it was never acknowledged)
  // and starts the committer thread.
  static mail::Result<std::unique_ptr<Spool>> open(SpoolOptions options);
  // Read-only view for `queue list` while a server owns the spool: no lock, no committer,
  // no repair; a record still being written is skipped. A queue directory that does not
  // exist yet (no server has run) is an empty queue, and nothing is created.
  static mail::Result<std::unique_ptr<Spool>> open_read_only(SpoolOptions options);
  virtual ~Spool() = default;

  virtual BodyBuffer new_body() = 0;
  // Reserves the id of a message before it is stored, so that its Received header and every
  // log line about it can carry the id. Ids only grow.
  virtual mail::QueueId allocate_id() = 0;
  // Queues a new message: envelope + body (with our Received header already in it). The
  // initial state has every recipient Pending.
  virtual void submit(mail::QueueId id, mail::Envelope envelope, BodyBuffer body,
                      CommitCallback done) = 0;
  virtual void update_state(mail::QueueId id, MessageState state, CommitCallback done) = 0;
  // Removes the message for good (delivered to all, bounced, or deleted by an operator).
  virtual void remove(mail::QueueId id, CommitCallback done) = 0;

  virtual std::vector<QueuedMessage> list() const = 0;
  virtual std::optional<QueuedMessage> find(mail::QueueId id) const = 0;
  virtual mail::Result<std::string> read_body(mail::QueueId id) const = 0;
  virtual SpoolStats stats() const = 0;

  // Called on the committer thread once per commit batch with the messages it made durable
  // (delivery subscribes): one announcement per batch, not one per message.
  virtual void set_on_committed(std::function<void(std::vector<QueuedMessage>)> observer) = 0;
  // Stops accepting work, finishes the batch in flight, joins the committer.
  virtual void close() = 0;
};

} // namespace backstop::queue
