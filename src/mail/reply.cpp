// reply: wire form of SMTP replies, multi-line per RFC 5321 4.2.1.
#include "mail/reply.hpp"

namespace backstop::mail {

std::string Reply::wire(bool with_enhanced) const {
  std::string out;
  std::string_view rest = text;
  const std::string code_text = std::to_string(code);
  for (;;) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    const bool last = nl == std::string_view::npos;
    out += code_text;
    out += last ? ' ' : '-';
    if (with_enhanced && !enhanced.empty()) {
      out += enhanced;
      out += ' ';
    }
    out += line;
    out += "\r\n";
    if (last) {
      break;
    }
    rest.remove_prefix(nl + 1);
  }
  return out;
}

} // namespace backstop::mail
