// record_codec_fuzz: decoding spool records from corrupt or hostile bytes never reads out of
// bounds; whatever decodes re-encodes to bytes that decode to the same again (an envelope
// written before the sender_verified mark re-encodes with it).
#include "queue/record_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace backstop::queue;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)decode_header(input);
  if (auto envelope = decode_envelope(input)) {
    const std::string once = encode_envelope(*envelope);
    auto again = decode_envelope(once);
    if (!again || encode_envelope(*again) != once) {
      std::abort();
    }
  }
  if (auto state = decode_state(input)) {
    if (encode_state(*state) != input) {
      std::abort();
    }
  }
  if (auto parts = decode_message_prefix(input)) {
    if (parts->body_offset > input.size()) {
      std::abort();
    }
  }
  return 0;
}
