// group_commit: decides when a message is durable, i.e. when a session may send 250.
// Requests from every session queue up while the previous batch syncs; the committer then
// appends the whole batch to the active segment and calls fdatasync once for all of it.
// Ordering: records reach the file in the order they were enqueued, so a bounce queued
// before its original's removal is on disk before that removal.
// On a write error the segment is cut back to its durable length and the batch fails (the
// spool stays usable: a full disk may get space again). On an fdatasync error the spool
// becomes unhealthy for good: the kernel may have dropped the dirty pages, and retrying
// the sync could report success for data that is gone (the "fsyncgate" lesson).
#include "queue/spool_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace backstop::queue {

namespace {
constexpr std::size_t copy_chunk = 1 << 20;

bool pwrite_all(int fd, std::string_view data, std::uint64_t offset) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EIO;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

CommitError error_for(int err) {
  return err == ENOSPC || err == EDQUOT ? CommitError::DiskFull : CommitError::WriteError;
}

// CRC of a spilled body, read back from its file.
bool spill_crc(int fd, std::uint64_t size, std::uint32_t& crc) {
  std::string chunk(copy_chunk, '\0');
  crc = 0;
  for (std::uint64_t done = 0; done < size;) {
    const ssize_t n = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(done));
    if (n <= 0) {
      return false;
    }
    crc = crc32_of(std::string_view(chunk.data(), static_cast<std::size_t>(n)), crc);
    done += static_cast<std::uint64_t>(n);
  }
  return true;
}
} // namespace

BodyBuffer SpoolImpl::new_body() {
  return BodyBuffer(tmp_dir_, options_.spill_threshold, ArrivalTicket(arriving_));
}

mail::QueueId SpoolImpl::allocate_id() { return mail::QueueId{next_id_.fetch_add(1)}; }

void SpoolImpl::enqueue(Request request) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_ && !read_only_) {
      request.body.arrived(); // under the lock: a waiting committer sees it with its request
      pending_.push_back(std::move(request));
      queue_cv_.notify_one();
      return;
    }
  }
  request.done(CommitResult{request.id, CommitError::Unavailable, "the queue is closed"});
}

void SpoolImpl::submit(mail::QueueId id, mail::Envelope envelope, BodyBuffer body,
                       CommitCallback done) {
  Request r;
  r.type = RecordType::Message;
  r.id = id;
  r.state = initial_state(envelope);
  r.envelope = std::move(envelope);
  r.body = std::move(body);
  r.done = std::move(done);
  enqueue(std::move(r));
}

void SpoolImpl::update_state(mail::QueueId id, MessageState state, CommitCallback done) {
  Request r;
  r.type = RecordType::State;
  r.id = id;
  r.state = std::move(state);
  r.done = std::move(done);
  enqueue(std::move(r));
}

void SpoolImpl::remove(mail::QueueId id, CommitCallback done) {
  Request r;
  r.type = RecordType::Remove;
  r.id = id;
  r.done = std::move(done);
  enqueue(std::move(r));
}

void SpoolImpl::committer_loop() {
  for (;;) {
    std::deque<Request> batch;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty() && stopping_) {
        return;
      }
      if (options_.commit_delay.count() > 0 && pending_.size() < options_.commit_wait_for &&
          arriving_->load(std::memory_order_relaxed) > 0) {
        queue_cv_.wait_for(lock, options_.commit_delay, [this] {
          return stopping_ || pending_.size() >= options_.commit_wait_for ||
                 arriving_->load(std::memory_order_relaxed) == 0;
        });
      }
      std::size_t bytes = 0;
      while (!pending_.empty() && (batch.empty() || bytes < options_.max_batch_bytes)) {
        bytes += pending_.front().body.size() + 256;
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    commit_batch(batch);
    if (healthy_) {
      collect_garbage();
    }
  }
}

void SpoolImpl::fail_batch(std::deque<Request>& batch, CommitError error,
                           const std::string& detail) {
  for (auto& r : batch) {
    r.body.clear();
    r.done(CommitResult{r.id, error, detail});
  }
}

mail::Status SpoolImpl::write_request(Request& r, int fd, std::uint64_t& offset,
                                      std::string& pending) {
  std::string payload_prefix;
  std::uint32_t body_crc = 0;
  std::uint64_t body_size = 0;
  if (r.type == RecordType::Message) {
    payload_prefix = encode_message_prefix(r.envelope, r.state);
    body_size = r.body.size();
    if (r.body.spilled()) {
      if (!spill_crc(r.body.spill_fd(), body_size, body_crc)) {
        return mail::make_error(std::string("cannot read spill file: ") + std::strerror(errno));
      }
    } else {
      body_crc = crc32_of(r.body.memory());
    }
  } else if (r.type == RecordType::State) {
    payload_prefix = encode_state(r.state);
  }
  const std::uint64_t payload_size = payload_prefix.size() + body_size;
  const std::uint32_t crc = static_cast<std::uint32_t>(
      crc32_combine(crc32_of(payload_prefix), body_crc, static_cast<z_off_t>(body_size)));
  const std::uint64_t record_start = offset + pending.size();
  pending += encode_header(r.type, r.id.value, payload_size, crc);
  pending += payload_prefix;
  r.body_offset = record_start + header_size + payload_prefix.size();
  if (r.type != RecordType::Message) {
    return mail::Ok{};
  }
  if (!r.body.spilled()) {
    pending += r.body.memory();
    return mail::Ok{};
  }
  // Flush what is buffered, then copy the spill file into the segment.
  if (!pwrite_all(fd, pending, offset)) {
    return mail::make_error(std::strerror(errno));
  }
  offset += pending.size();
  pending.clear();
  std::string chunk(copy_chunk, '\0');
  for (std::uint64_t done = 0; done < body_size;) {
    const ssize_t n =
        ::pread(r.body.spill_fd(), chunk.data(), chunk.size(), static_cast<off_t>(done));
    if (n <= 0 ||
        !pwrite_all(fd, std::string_view(chunk.data(), static_cast<std::size_t>(n)), offset)) {
      return mail::make_error(std::strerror(n < 0 || n > 0 ? errno : EIO));
    }
    done += static_cast<std::uint64_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return mail::Ok{};
}

mail::Status SpoolImpl::write_batch(std::deque<Request>& batch, Segment& segment,
                                    std::uint64_t number, std::uint64_t& end) {
  std::uint64_t offset = segment.size;
  std::string pending;
  for (auto& r : batch) {
    r.segment = number;
    if (auto written = write_request(r, segment.fd(), offset, pending); !written) {
      return written;
    }
  }
  if (!pwrite_all(segment.fd(), pending, offset)) {
    return mail::make_error(std::strerror(errno));
  }
  end = offset + pending.size();
  return mail::Ok{};
}

// Appending past a file's end makes each fdatasync commit the file system's journal too (the
// length changed); writing into blocks that already exist does not. So the active segment is
// zero-filled ahead of its records, as PostgreSQL does with its WAL: a sync took 130-145 us
// instead of 220-570 us here. Replay stops at the zeros (no record has a zero magic).
void SpoolImpl::prepare_room(Segment& segment, const std::deque<Request>& batch) {
  std::uint64_t needed = segment.size;
  for (const auto& r : batch) {
    needed += r.body.size() + 512; // header and envelope: a guess; appending past it is fine
  }
  if (options_.preallocate == 0 || needed <= segment.prepared) {
    return;
  }
  static const std::string zeros(1 << 20, '\0');
  const std::uint64_t target = needed + options_.preallocate;
  std::uint64_t at = std::max(segment.prepared, segment.size);
  while (at < target) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), target - at));
    if (!pwrite_all(segment.fd(), std::string_view(zeros.data(), n), at)) {
      // No room for zeros (a full disk): take them back and append; the batch finds out.
      at = std::max(segment.prepared, segment.size);
      if (::ftruncate(segment.fd(), static_cast<off_t>(at)) == 0) {
        segment.prepared = at;
      }
      return;
    }
    at += n;
  }
  segment.prepared = target; // durable with the batch's fdatasync
}

void SpoolImpl::commit_batch(std::deque<Request>& batch) {
  if (!healthy_) {
    fail_batch(batch, CommitError::Unavailable, "the queue is unhealthy after a sync error");
    return;
  }
  if (segments_.at(active_).size >= options_.segment_size) {
    Segment& full = segments_.at(active_);
    if (full.prepared > full.size && ::ftruncate(full.fd(), static_cast<off_t>(full.size)) == 0) {
      full.prepared = full.size; // its zeros are of no more use
    }
    if (auto created = create_segment(active_ + 1); !created) {
      fail_batch(batch, error_for(errno), created.error().message);
      return;
    }
  }
  const std::uint64_t number = active_;
  Segment& segment = segments_.at(number);
  prepare_room(segment, batch);
  std::uint64_t end = 0;
  if (auto written = write_batch(batch, segment, number, end); !written) {
    const int err = errno;
    if (::ftruncate(segment.fd(), static_cast<off_t>(segment.size)) != 0) {
      healthy_ = false; // we cannot take the partial batch back
    }
    segment.prepared = segment.size;
    fail_batch(batch, error_for(err), "queue write failed: " + written.error().message);
    return;
  }
  const auto sync_started = std::chrono::steady_clock::now();
  const bool synced = ::fdatasync(segment.fd()) == 0;
  if (options_.on_sync) {
    options_.on_sync(batch.size(), std::chrono::steady_clock::now() - sync_started);
  }
  if (!synced) {
    healthy_ = false;
    fail_batch(batch, CommitError::WriteError,
               std::string("queue sync failed: ") + std::strerror(errno));
    return;
  }
  {
    std::unique_lock lock(index_mutex_);
    segment.size = end; // what we wrote: no fstat per batch
    segment.prepared = std::max(segment.prepared, end);
  }
  commits_++;
  records_ += batch.size();
  publish(batch);
}

void SpoolImpl::publish(std::deque<Request>& batch) {
  std::vector<QueuedMessage> committed;
  for (auto& r : batch) {
    {
      std::unique_lock lock(index_mutex_);
      if (r.type == RecordType::Message) {
        apply_message(r.segment, r.body_offset, r.id, std::move(r.envelope), std::move(r.state),
                      r.body.size());
        if (!r.relocation && observer_) {
          committed.push_back(index_.at(r.id.value).message);
        }
      } else if (r.type == RecordType::State) {
        auto it = index_.find(r.id.value);
        if (it != index_.end()) {
          it->second.message.state = r.state;
        }
      } else {
        apply_remove(r.id);
      }
    }
    r.body.clear();
    r.done(CommitResult{r.id, std::nullopt, {}});
  }
  if (!committed.empty()) {
    observer_(std::move(committed));
  }
}

void SpoolImpl::set_on_committed(std::function<void(std::vector<QueuedMessage>)> observer) {
  observer_ = std::move(observer);
}

void SpoolImpl::close() {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      return;
    }
    stopping_ = true; // the committer drains what is already queued, then ends
    queue_cv_.notify_all();
  }
  if (committer_.joinable()) {
    committer_.join();
  }
}

} // namespace backstop::queue
