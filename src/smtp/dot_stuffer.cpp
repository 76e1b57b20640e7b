// dot_stuffer: DATA wire form for sending.
#include "smtp/dot_stuffer.hpp"

namespace backstop::smtp {

void dot_stuff(std::string_view message, std::string& out) {
  out.reserve(out.size() + message.size() + message.size() / 64 + 8);
  bool line_start = true;
  std::size_t pos = 0;
  while (pos < message.size()) {
    if (line_start && message[pos] == '.') {
      out += '.';
    }
    const auto lf = message.find('\n', pos);
    const std::size_t end = lf == std::string_view::npos ? message.size() : lf + 1;
    out.append(message.substr(pos, end - pos));
    line_start = lf != std::string_view::npos;
    pos = end;
  }
  if (!message.empty() && !(message.size() >= 2 && message.substr(message.size() - 2) == "\r\n")) {
    out += "\r\n";
  }
  out += ".\r\n";
}

} // namespace backstop::smtp
