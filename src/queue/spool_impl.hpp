// spool_impl: the concrete Spool. Holds the in-memory index (id -> where the message record
// is, its envelope and current state), the open segment files, and the committer thread
// that is the only writer of segments. See spool.hpp for the durability contract.
#pragma once

#include "queue/record_codec.hpp"
#include "queue/spool.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

namespace backstop::queue {

struct IndexEntry {
  std::uint64_t segment = 0;
  std::uint64_t body_offset = 0; // absolute file offset of the body in the segment
  QueuedMessage message;
};

// An open segment file, shared by the index and by every read in flight: GC may drop a
// segment while a reader still preads from it, and the fd closes when the last holder lets
// go. A raw fd copied out of the lock could be closed, and its number reused, mid-read.
class SegmentFile {
public:
  explicit SegmentFile(int fd) : fd_(fd) {}
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  int fd() const { return fd_; }

private:
  int fd_;
};

struct Segment {
  std::shared_ptr<const SegmentFile> file;
  int fd() const { return file ? file->fd() : -1; }
  std::uint64_t size = 0;          // durable length
  std::uint64_t prepared = 0;      // file length: the records, then zeros ahead of them
  std::uint64_t live_messages = 0; // index entries whose record is here
  std::uint64_t messages = 0;      // message records written here
};

class SpoolImpl final : public Spool {
public:
  SpoolImpl(SpoolOptions options, bool read_only);
  ~SpoolImpl() override;

  mail::Status open();

  BodyBuffer new_body() override;
  mail::QueueId allocate_id() override;
  void submit(mail::QueueId id, mail::Envelope envelope, BodyBuffer body,
              CommitCallback done) override;
  void update_state(mail::QueueId id, MessageState state, CommitCallback done) override;
  void remove(mail::QueueId id, CommitCallback done) override;
  std::vector<QueuedMessage> list() const override;
  std::optional<QueuedMessage> find(mail::QueueId id) const override;
  mail::Result<std::string> read_body(mail::QueueId id) const override;
  SpoolStats stats() const override;
  void set_on_committed(std::function<void(std::vector<QueuedMessage>)> observer) override;
  void close() override;

private:
  struct Request {
    RecordType type = RecordType::Message;
    mail::QueueId id;
    mail::Envelope envelope;
    MessageState state;
    BodyBuffer body;
    CommitCallback done;
    bool relocation = false; // compaction: not news for the observer
    // filled while writing
    std::uint64_t segment = 0;
    std::uint64_t body_offset = 0;
  };

  // spool_open.cpp
  mail::Status take_lock();
  mail::Status replay_segment(std::uint64_t number, bool last);
  void apply_message(std::uint64_t segment, std::uint64_t body_offset, mail::QueueId id,
                     mail::Envelope envelope, MessageState state, std::uint64_t body_size);
  void apply_remove(mail::QueueId id);
  std::filesystem::path segment_path(std::uint64_t number) const;
  mail::Status create_segment(std::uint64_t number);

  // group_commit.cpp
  void enqueue(Request request);
  void committer_loop();
  void commit_batch(std::deque<Request>& batch);
  void prepare_room(Segment& segment, const std::deque<Request>& batch);
  // end: the segment's length after the batch, on success.
  mail::Status write_batch(std::deque<Request>& batch, Segment& segment, std::uint64_t number,
                           std::uint64_t& end);
  mail::Status write_request(Request& r, int fd, std::uint64_t& offset, std::string& pending);
  void publish(std::deque<Request>& batch);
  void fail_batch(std::deque<Request>& batch, CommitError error, const std::string& detail);

  // segment_gc.cpp
  void collect_garbage();
  bool compact_oldest();

  SpoolOptions options_;
  std::shared_ptr<const std::filesystem::path> tmp_dir_; // where bodies spill
  // Bodies handed out by new_body() and not yet submitted or dropped (ArrivalTicket).
  std::shared_ptr<std::atomic<int>> arriving_ = std::make_shared<std::atomic<int>>(0);
  bool read_only_;
  int lock_fd_ = -1;
  int dir_fd_ = -1;

  mutable std::shared_mutex index_mutex_; // guards index_ and segments_ bookkeeping
  std::unordered_map<std::uint64_t, IndexEntry> index_;
  std::map<std::uint64_t, Segment> segments_;
  std::uint64_t active_ = 0; // number of the segment being appended to

  std::atomic<std::uint64_t> next_id_{1};
  std::function<void(std::vector<QueuedMessage>)> observer_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Request> pending_;
  bool stopping_ = false;
  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> records_{0};
  std::thread committer_;
};

} // namespace backstop::queue
