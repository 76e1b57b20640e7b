// hop_counter: counts the Received header fields of a message as its bytes stream by, to
// stop mail loops (RFC 5321 6.3) the way Postfix's hopcount_limit does. It looks only at
// the header section and keeps a few bytes of state, so it never buffers the message.
#pragma once

#include <cstddef>
#include <string_view>

namespace backstop::smtp {

class HopCounter {
public:
  void feed(std::string_view bytes);
  std::size_t received_headers() const { return count_; }

private:
  void end_of_name();

  static constexpr std::size_t name_limit = 9; // "received" plus one octet to tell it apart
  char name_[name_limit]{};
  std::size_t name_length_ = 0;
  bool at_line_start_ = true;
  bool in_name_ = false;      // reading a field name at the start of a line
  bool headers_done_ = false; // the empty line that ends the header section was seen
  std::size_t count_ = 0;
};

} // namespace backstop::smtp
