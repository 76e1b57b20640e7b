// line_assembler: one command line at a time in a fixed buffer, for the trap sessions. A
// line longer than the buffer keeps its start (enough for a verb and a domain) and the rest
// is dropped up to its LF, so a client can never make a trap connection grow.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace backstop::trap {

template <std::size_t Capacity> class LineAssembler {
public:
  // Takes bytes up to and including the first LF. Returns how many were taken; complete()
  // tells whether a line ended there.
  std::size_t feed(std::string_view bytes) {
    if (complete_) {
      reset();
    }
    std::size_t taken = 0;
    for (char c : bytes) {
      ++taken;
      if (c == '\n') {
        complete_ = true;
        break;
      }
      if (size_ < Capacity) {
        data_[size_++] = c;
      } else {
        truncated_ = true;
      }
    }
    return taken;
  }
  bool complete() const { return complete_; }
  bool truncated() const { return truncated_; }
  // The completed line without its CR LF.
  std::string_view line() const {
    std::string_view text(data_.data(), size_);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    }
    return text;
  }
  // Room left before a line is cut; how much a reader may take at most.
  std::size_t room() const { return Capacity - size_; }
  void reset() {
    size_ = 0;
    complete_ = false;
    truncated_ = false;
  }

private:
  std::array<char, Capacity> data_;
  std::uint16_t size_ = 0;
  bool complete_ = false;
  bool truncated_ = false;
};

} // namespace backstop::trap
