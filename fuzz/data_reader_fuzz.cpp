// data_reader_fuzz: the DATA automaton on arbitrary bytes. Invariants: two different splits
// of the same input give the same output and stop at the same place; the output, dot-stuffed
// again for the next hop, holds no CRLF.CRLF before its own terminator (no smuggling through
// us); only "\r\n.\r\n" (or ".\r\n" at the very start) ends the data.
#include "smtp/data_reader.hpp"
#include "smtp/dot_stuffer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using backstop::smtp::DataReader;

namespace {
struct Run {
  std::string out;
  std::size_t consumed = 0;
  bool done = false;
};

Run feed(std::string_view input, std::size_t split) {
  DataReader reader(1000);
  Run run;
  for (std::string_view part : {input.substr(0, split), input.substr(split)}) {
    if (run.done) {
      break;
    }
    auto step = reader.feed(part, run.out);
    run.consumed += step.consumed;
    run.done = step.done;
  }
  return run;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const Run whole = feed(input, input.size());
  const Run split = feed(input, size == 0 ? 0 : data[0] % (size + 1));
  if (whole.out != split.out || whole.done != split.done ||
      (whole.done && whole.consumed != split.consumed)) {
    std::abort();
  }
  if (whole.done) {
    const std::string_view used = input.substr(0, whole.consumed);
    const bool proper =
        used == ".\r\n" || (used.size() >= 5 && used.substr(used.size() - 5) == "\r\n.\r\n");
    if (!proper) {
      std::abort();
    }
  }
  std::string wire;
  backstop::smtp::dot_stuff(whole.out, wire);
  const auto end = wire.find("\r\n.\r\n");
  if (end != std::string::npos && end + 5 != wire.size()) {
    std::abort();
  }
  return 0;
}
