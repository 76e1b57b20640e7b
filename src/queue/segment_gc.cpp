// segment_gc: decides when a segment file may go. Only the oldest segment is ever deleted,
// and only when no live message record is in it: a State or Remove record in a newer
// segment may refer to a message in an older one, never the other way round, so deleting
// oldest-first can never bring a removed message back at the next replay. An old segment
// pinned by a few long-lived messages is compacted: those messages are appended again
// (with their current state) to the active segment, which frees the old one.
#include "queue/spool_impl.hpp"

#include <iostream>
#include <unistd.h>

namespace backstop::queue {

void SpoolImpl::collect_garbage() {
  for (;;) {
    std::uint64_t oldest = 0;
    {
      std::shared_lock lock(index_mutex_);
      if (segments_.size() < 2) {
        return;
      }
      oldest = segments_.begin()->first;
      if (oldest == active_) {
        return;
      }
      const Segment& seg = segments_.begin()->second;
      if (seg.live_messages > 0) {
        // Compact only when the pinned messages are few: copying most of a segment again
        // would cost more than it frees.
        if (seg.live_messages * 4 > std::max<std::uint64_t>(seg.messages, 1)) {
          return;
        }
      }
    }
    if (!compact_oldest()) {
      return;
    }
    std::shared_ptr<const SegmentFile> file;
    {
      std::unique_lock lock(index_mutex_);
      auto it = segments_.find(oldest);
      if (it == segments_.end() || it->second.live_messages != 0) {
        return;
      }
      file = std::move(it->second.file);
      segments_.erase(it);
    }
    file.reset(); // closes now, or when the last read still holding it ends
    ::unlink(segment_path(oldest).c_str());
    ::fsync(dir_fd_);
  }
}

// Re-appends the live messages of the oldest segment. Runs on the committer thread between
// batches, so no other record can slip in between and the index is authoritative.
bool SpoolImpl::compact_oldest() {
  std::deque<Request> moves;
  {
    std::shared_lock lock(index_mutex_);
    const std::uint64_t oldest = segments_.begin()->first;
    for (const auto& [id, entry] : index_) {
      if (entry.segment == oldest) {
        Request r;
        r.type = RecordType::Message;
        r.relocation = true;
        r.id = entry.message.id;
        r.envelope = entry.message.envelope;
        r.state = entry.message.state;
        moves.push_back(std::move(r));
      }
    }
  }
  if (moves.empty()) {
    return true;
  }
  for (auto& r : moves) {
    auto body = read_body(r.id);
    if (!body) {
      std::cerr << "backstop: compaction: " << body.error().message << "\n";
      return false;
    }
    r.body = BodyBuffer(tmp_dir_, options_.spill_threshold); // not arriving: no ticket
    if (!r.body.append(body.value())) {
      return false;
    }
    r.done = [](CommitResult) {};
  }
  commit_batch(moves);
  return healthy_;
}

} // namespace backstop::queue
