// input_buffer: what a session has read and not yet consumed. Reads go straight into its
// free space, which is never zero-filled first (a std::string resize clears every byte of a
// 64 KiB DATA read before the kernel overwrites them).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace backstop::smtp {

class InputBuffer {
public:
  std::string_view pending() const { return {data_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) { begin_ += n; }
  void clear() { begin_ = end_ = 0; }

  // Room for at least n more bytes after what is pending; moves the pending bytes to the
  // front first. A large buffer left empty shrinks back to n, so idle sessions stay small.
  char* prepare(std::size_t n) {
    compact();
    if (end_ == 0 && capacity_ > shrink_above && n < capacity_) {
      data_.reset();
      capacity_ = 0;
    }
    if (capacity_ - end_ < n) {
      grow(end_ + n);
    }
    return data_.get() + end_;
  }
  void commit(std::size_t n) { end_ += n; } // n bytes written at prepare()'s pointer

private:
  static constexpr std::size_t shrink_above = 16 * 1024;

  void compact() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
  }
  void grow(std::size_t wanted) {
    std::unique_ptr<char[]> bigger(new char[wanted]); // uninitialised on purpose
    if (end_ > 0) {
      std::memcpy(bigger.get(), data_.get(), end_);
    }
    data_ = std::move(bigger);
    capacity_ = wanted;
  }

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

} // namespace backstop::smtp
