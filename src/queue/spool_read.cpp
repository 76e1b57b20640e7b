// spool_read: the read side of the spool: listing, lookups and message bytes. Reads take
// the index lock shared and pread from segment files, so they never wait for a sync.
#include "queue/spool_impl.hpp"

#include <cstring>
#include <unistd.h>

namespace backstop::queue {

std::vector<QueuedMessage> SpoolImpl::list() const {
  std::shared_lock lock(index_mutex_);
  std::vector<QueuedMessage> out;
  out.reserve(index_.size());
  for (const auto& [id, entry] : index_) {
    out.push_back(entry.message);
  }
  std::sort(out.begin(), out.end(),
            [](const QueuedMessage& a, const QueuedMessage& b) { return a.id < b.id; });
  return out;
}

std::optional<QueuedMessage> SpoolImpl::find(mail::QueueId id) const {
  std::shared_lock lock(index_mutex_);
  auto it = index_.find(id.value);
  if (it == index_.end()) {
    return std::nullopt;
  }
  return it->second.message;
}

mail::Result<std::string> SpoolImpl::read_body(mail::QueueId id) const {
  std::shared_ptr<const SegmentFile> file;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  {
    std::shared_lock lock(index_mutex_);
    auto it = index_.find(id.value);
    if (it == index_.end()) {
      return mail::make_error("no message " + id.to_string() + " in the queue");
    }
    file = segments_.at(it->second.segment).file;
    offset = it->second.body_offset;
    size = it->second.message.body_size;
  }
  // GC may relocate the message and drop this segment meanwhile; holding the file keeps it
  // open (an unlinked segment still reads back what was written to it).
  if (!file) {
    return mail::make_error("cannot read message " + id.to_string() + ": segment not open");
  }
  const int fd = file->fd();
  std::string body(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n =
        ::pread(fd, body.data() + done, body.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return mail::make_error("cannot read message " + id.to_string() + ": " +
                              (n < 0 ? std::strerror(errno) : "short segment"));
    }
    done += static_cast<std::size_t>(n);
  }
  return body;
}

SpoolStats SpoolImpl::stats() const {
  std::shared_lock lock(index_mutex_);
  SpoolStats s;
  s.messages = index_.size();
  for (const auto& [id, entry] : index_) {
    const auto arrival = entry.message.envelope.arrival_unix;
    if (arrival > 0 && (s.oldest_arrival == 0 || arrival < s.oldest_arrival)) {
      s.oldest_arrival = arrival;
    }
  }
  s.segments = segments_.size();
  for (const auto& [n, seg] : segments_) {
    s.bytes_on_disk += seg.size;
  }
  s.commits = commits_;
  s.records_committed = records_;
  s.healthy = healthy_;
  return s;
}

} // namespace backstop::queue
