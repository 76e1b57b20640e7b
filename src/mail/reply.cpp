// reply: wire form of SMTP replies, multi-line per RFC 5321 4.2.1.
#include "mail/reply.hpp"

namespace backstop::mail {

std::string Reply::wire(bool with_enhanced) const {
  std::string out;
  append_wire(out, with_enhanced);
  return out;
}

void Reply::append_wire(std::string& out, bool with_enhanced) const {
  std::string_view rest = text;
  const char code_text[3] = {static_cast<char>('0' + code / 100 % 10),
                             static_cast<char>('0' + code / 10 % 10),
                             static_cast<char>('0' + code % 10)};
  for (;;) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    const bool last = nl == std::string_view::npos;
    out.append(code_text, 3);
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
}

} // namespace backstop::mail
