// reply_parser_fuzz: client-side reply parsing stays in bounds and consumes what it claims.
#include "smtp/reply_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    auto scan = backstop::smtp::parse_reply(input, 512, 20);
    if (scan.status != backstop::smtp::ReplyStatus::Complete) {
      break;
    }
    if (scan.consumed == 0 || scan.consumed > input.size() || scan.reply.code < 0 ||
        scan.reply.code > 999) {
      std::abort();
    }
    (void)backstop::smtp::parse_ehlo_extensions(scan.reply);
    input.remove_prefix(scan.consumed);
  }
  return 0;
}
