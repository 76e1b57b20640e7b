// body_buffer: collects the bytes of one incoming message. Small messages stay in memory;
// past a threshold the bytes spill to a private temporary file in the spool's tmp/ folder,
// so memory per session stays bounded whatever the message size. A spill file is never a
// queued message: recovery deletes every file in tmp/.
#pragma once

#include "mail/result.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace backstop::queue {

// Counts a body from the spool's new_body() until it is submitted or dropped: the committer
// waits for company only while other bodies are still arriving (queue/group_commit.cpp).
class ArrivalTicket {
public:
  ArrivalTicket() = default;
  explicit ArrivalTicket(std::shared_ptr<std::atomic<int>> arriving)
      : arriving_(std::move(arriving)) {
    arriving_->fetch_add(1, std::memory_order_relaxed);
  }
  ArrivalTicket(ArrivalTicket&&) noexcept = default;
  ArrivalTicket& operator=(ArrivalTicket&& other) noexcept {
    if (this != &other) {
      release();
      arriving_ = std::move(other.arriving_);
    }
    return *this;
  }
  ArrivalTicket(const ArrivalTicket&) = delete;
  ArrivalTicket& operator=(const ArrivalTicket&) = delete;
  ~ArrivalTicket() { release(); }

  void release() {
    if (arriving_) {
      arriving_->fetch_sub(1, std::memory_order_relaxed);
      arriving_.reset();
    }
  }

private:
  std::shared_ptr<std::atomic<int>> arriving_;
};

class BodyBuffer {
public:
  BodyBuffer() = default;
  // tmp_dir is shared by every body of a spool: a message costs no path of its own.
  BodyBuffer(std::shared_ptr<const std::filesystem::path> tmp_dir, std::size_t spill_threshold,
             ArrivalTicket ticket = {});
  BodyBuffer(BodyBuffer&&) noexcept;
  BodyBuffer& operator=(BodyBuffer&&) noexcept;
  BodyBuffer(const BodyBuffer&) = delete;
  BodyBuffer& operator=(const BodyBuffer&) = delete;
  ~BodyBuffer(); // closes and unlinks a spill file

  // Errors (disk full while spilling) are values; after an error the buffer stays failed.
  mail::Status append(std::string_view bytes);
  // Room in memory for a body of about n bytes, so appending it costs one allocation.
  void reserve(std::size_t n) {
    if (fd_ < 0 && n <= threshold_) {
      memory_.reserve(n);
    }
  }
  std::uint64_t size() const { return size_; }
  bool spilled() const { return fd_ >= 0; }
  bool failed() const { return failed_; }
  int failed_errno() const { return errno_; }

  // For the committer: memory contents, or the spill file's descriptor (data at offset 0).
  const std::string& memory() const { return memory_; }
  int spill_fd() const { return fd_; }
  void clear(); // drops the content, unlinks a spill file, is no longer arriving
  void arrived() { ticket_.release(); } // the spool has it: no longer arriving

private:
  std::shared_ptr<const std::filesystem::path> tmp_dir_;
  std::size_t threshold_ = 256 * 1024;
  std::string memory_;
  std::uint64_t size_ = 0;
  int fd_ = -1;
  std::filesystem::path spill_path_;
  bool failed_ = false;
  int errno_ = 0;
  ArrivalTicket ticket_;
};

} // namespace backstop::queue
