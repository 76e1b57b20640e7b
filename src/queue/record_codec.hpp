// record_codec: the on-disk form of spool records, as pure functions. Every record is a
// fixed 32-byte header (little-endian fixed-width fields) and a payload:
//   u32 magic "BSQ1" | u8 type | u8 version | u16 0 | u64 payload length | u64 queue id |
//   u32 crc32 (zlib, over the first 24 header bytes and the payload) | u32 0
// Message payload: u32 envelope length, envelope, u32 state length, state, body bytes.
// State payload: the encoded MessageState. Remove payload: empty.
// The envelope ends with optional fields, newest last (u8 sender_verified): a record written
// before one existed ends earlier and decodes with its default, so old spools still load.
// Decoding checks every length against what is there: corrupt or hostile bytes give an
// error, never a read out of bounds.
#pragma once

#include "mail/envelope.hpp"
#include "queue/message_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backstop::queue {

enum class RecordType : std::uint8_t { Message = 1, State = 2, Remove = 3 };

inline constexpr std::uint32_t record_magic = 0x31515342; // "BSQ1"
inline constexpr std::size_t header_size = 32;
inline constexpr std::uint64_t max_payload = 1ull << 34; // 16 GiB: anything larger is corrupt

struct RecordHeader {
  RecordType type = RecordType::Message;
  std::uint64_t payload_length = 0;
  std::uint64_t id = 0;
  std::uint32_t crc = 0;
};

std::string encode_envelope(const mail::Envelope& envelope);
std::optional<mail::Envelope> decode_envelope(std::string_view bytes);
std::string encode_state(const MessageState& state);
std::optional<MessageState> decode_state(std::string_view bytes);

// Header bytes for a record whose payload CRC (crc32 over the payload alone) is known.
std::string encode_header(RecordType type, std::uint64_t id, std::uint64_t payload_length,
                          std::uint32_t payload_crc);
// Parses a header; nullopt when the magic, version or lengths are wrong.
std::optional<RecordHeader> decode_header(std::string_view bytes);
// The CRC stored in a header: crc32 of header[0..24) continued over the payload.
std::uint32_t record_crc(std::string_view header24, std::uint32_t payload_crc,
                         std::uint64_t payload_length);
std::uint32_t crc32_of(std::string_view bytes, std::uint32_t crc = 0);

// The prefix of a Message payload (everything but the body).
std::string encode_message_prefix(const mail::Envelope& envelope, const MessageState& state);
struct MessageParts {
  mail::Envelope envelope;
  MessageState state;
  std::uint64_t body_offset = 0; // within the payload
};
std::optional<MessageParts> decode_message_prefix(std::string_view payload_prefix);

MessageState initial_state(const mail::Envelope& envelope);

} // namespace backstop::queue
