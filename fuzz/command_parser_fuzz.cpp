// command_parser_fuzz: framing and verb parsing never read out of bounds and always make
// progress (a complete, bare or too-long line consumes at least one octet).
#include "smtp/command_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    auto scan = backstop::smtp::find_command_line(input, 512);
    if (scan.status == backstop::smtp::LineStatus::NeedMore) {
      break;
    }
    if (scan.length == 0 || scan.length > input.size()) {
      std::abort();
    }
    if (scan.status == backstop::smtp::LineStatus::Complete) {
      auto line = input.substr(0, scan.length - 2);
      auto command = backstop::smtp::parse_command(line);
      if (command.argument.size() > line.size()) {
        std::abort();
      }
    }
    input.remove_prefix(scan.length);
  }
  return 0;
}
