// record_codec_test: the envelope's layout keeps old spools loadable. The verified-sender
// mark is an optional trailing field: a record written before it existed decodes (as not
// verified), a new one round-trips, and a mark that is neither 0 nor 1 is corruption.
#include "queue/record_codec.hpp"

#include <gtest/gtest.h>

namespace backstop::queue {
namespace {

using namespace std::string_view_literals;

// An envelope as the spool wrote it before sender_verified: <bob@sender.test> to
// <alice@example.test>, client 192.0.2.1, HELO client.example, arrival 1764547200.
constexpr auto old_envelope = "\x03\x00\x00\x00\x62\x6f\x62\x0b\x00\x00\x00\x73\x65\x6e\x64\x65"
                              "\x72\x2e\x74\x65\x73\x74\x01\x00\x00\x00\x05\x00\x00\x00\x61\x6c"
                              "\x69\x63\x65\x0c\x00\x00\x00\x65\x78\x61\x6d\x70\x6c\x65\x2e\x74"
                              "\x65\x73\x74\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                              "\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x31\x39\x32\x2e\x30"
                              "\x2e\x32\x2e\x31\x00\x00\x00\x00\x0e\x00\x00\x00\x63\x6c\x69\x65"
                              "\x6e\x74\x2e\x65\x78\x61\x6d\x70\x6c\x65\x00\x00\x00\x00\x80\xda"
                              "\x2c\x69\x00\x00\x00\x00"sv;

mail::Envelope sample(bool sender_verified) {
  mail::Envelope e;
  e.sender = {"bob", "sender.test"};
  e.recipients.push_back({{"alice", "example.test"}, mail::NotifyNone, ""});
  e.client_ip = "192.0.2.1";
  e.helo = "client.example";
  e.arrival_unix = 1764547200;
  e.sender_verified = sender_verified;
  return e;
}

TEST(RecordCodec, EnvelopeWrittenBeforeTheVerifiedMarkDecodesAsNotVerified) {
  const auto e = decode_envelope(old_envelope);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sender.to_string(), "bob@sender.test");
  ASSERT_EQ(e->recipients.size(), 1u);
  EXPECT_EQ(e->recipients[0].address.to_string(), "alice@example.test");
  EXPECT_EQ(e->helo, "client.example");
  EXPECT_EQ(e->arrival_unix, 1764547200);
  EXPECT_FALSE(e->sender_verified);
}

TEST(RecordCodec, OldMessagePrefixStillLoads) {
  const auto state = encode_state(initial_state(sample(false)));
  std::string payload;
  for (const auto& part : {std::string(old_envelope), state}) {
    const auto n = static_cast<std::uint32_t>(part.size());
    payload += std::string{static_cast<char>(n & 0xFF), static_cast<char>((n >> 8) & 0xFF),
                           static_cast<char>((n >> 16) & 0xFF), static_cast<char>(n >> 24)};
    payload += part;
  }
  const auto parts = decode_message_prefix(payload);
  ASSERT_TRUE(parts.has_value());
  EXPECT_FALSE(parts->envelope.sender_verified);
  EXPECT_EQ(parts->body_offset, payload.size());
}

TEST(RecordCodec, VerifiedMarkRoundTrips) {
  for (const bool verified : {false, true}) {
    const auto e = decode_envelope(encode_envelope(sample(verified)));
    ASSERT_TRUE(e.has_value()) << verified;
    EXPECT_EQ(e->sender_verified, verified);
    EXPECT_EQ(e->helo, "client.example");
  }
}

TEST(RecordCodec, VerifiedMarkOtherThanZeroOrOneIsCorruption) {
  auto bytes = encode_envelope(sample(true));
  ASSERT_EQ(bytes.size(), old_envelope.size() + 1) << "one trailing byte";
  bytes.back() = 2;
  EXPECT_FALSE(decode_envelope(bytes).has_value());
  EXPECT_FALSE(decode_envelope(bytes + '\x01').has_value()) << "nothing may follow it";
}

} // namespace
} // namespace backstop::queue
