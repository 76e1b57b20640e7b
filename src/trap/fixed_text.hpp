// fixed_text: a short text kept inline (no allocation), cut at its capacity. What a trap
// connection learns (HELO, domains) is evidence, so a cut long name is fine.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace backstop::trap {

template <std::size_t Capacity> class FixedText {
public:
  void assign(std::string_view text) {
    size_ = static_cast<std::uint8_t>(std::min(text.size(), Capacity));
    std::copy_n(text.data(), size_, data_.data());
  }
  std::string_view view() const { return {data_.data(), size_}; }
  bool empty() const { return size_ == 0; }

private:
  static_assert(Capacity < 256);
  std::array<char, Capacity> data_;
  std::uint8_t size_ = 0;
};

} // namespace backstop::trap
