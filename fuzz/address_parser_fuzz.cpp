// address_parser_fuzz: MAIL/RCPT argument parsing on arbitrary bytes; an accepted address
// must print back into a form that parses to the same address.
#include "smtp/address_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace backstop::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto mail = parse_mail_from(input);
  for (bool utf8 : {false, true}) {
    auto rcpt = parse_rcpt_to(input, utf8);
    if (auto* args = std::get_if<RcptToArgs>(&rcpt); args && !args->recipient.domain.empty()) {
      const std::string again = "TO:<" + args->recipient.to_string() + ">";
      auto reparsed = parse_rcpt_to(again, utf8);
      auto* back = std::get_if<RcptToArgs>(&reparsed);
      if (back == nullptr || !(back->recipient == args->recipient)) {
        std::abort();
      }
    }
  }
  (void)mail;
  (void)parse_path(input, {true, true});
  return 0;
}
