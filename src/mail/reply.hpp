// reply: an SMTP reply as data: basic code, enhanced status code (RFC 3463) and text.
// Every reply backstop sends is a named constant in replies.hpp or built from one.
#pragma once

#include <string>
#include <string_view>

namespace backstop::mail {

struct Reply {
  int code = 0;
  std::string enhanced; // "2.1.0"; empty for replies that carry none (220, 221 greeting...)
  std::string text;

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // Wire form, "250 2.1.0 Ok\r\n"; multi-line when text has '\n'. Enhanced codes only when
  // the session negotiated ENHANCEDSTATUSCODES, as RFC 2034 asks.
  std::string wire(bool with_enhanced = true) const;
  // The same, appended to out: a session batches its replies without a string per reply.
  void append_wire(std::string& out, bool with_enhanced = true) const;
  Reply with_text(std::string new_text) const { return Reply{code, enhanced, std::move(new_text)}; }
};

} // namespace backstop::mail
