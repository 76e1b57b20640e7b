// hop_counter: a byte-at-a-time scan of field names until the first empty line.
#include "smtp/hop_counter.hpp"

namespace backstop::smtp {

namespace {
bool is_received(const char* name, std::size_t length) {
  static constexpr std::string_view received = "received";
  if (length != received.size()) {
    return false;
  }
  for (std::size_t i = 0; i < length; ++i) {
    if ((name[i] | 0x20) != received[i]) {
      return false;
    }
  }
  return true;
}
} // namespace

void HopCounter::end_of_name() {
  if (is_received(name_, name_length_)) {
    ++count_;
  }
  in_name_ = false;
}

void HopCounter::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (headers_done_) {
      return;
    }
    if (c == '\n') {
      // An empty line (CRLF right at the start of a line): the header section is over.
      headers_done_ = at_line_start_;
      in_name_ = false;
      at_line_start_ = true;
      continue;
    }
    if (c == '\r') {
      continue;
    }
    if (at_line_start_) {
      at_line_start_ = false;
      // A folded continuation line starts with white space and names no field.
      in_name_ = c != ' ' && c != '\t';
      name_length_ = 0;
    }
    if (!in_name_) {
      continue;
    }
    if (c == ':' || c == ' ' || c == '\t') {
      end_of_name(); // RFC 5322 4.5.8 obsolete syntax allows white space before the colon
    } else if (name_length_ < name_limit) {
      name_[name_length_++] = c;
    } else {
      in_name_ = false; // longer than "received": some other field
    }
  }
}

} // namespace backstop::smtp
