// answer_ttl_test: the smallest TTL of a DNS answer section, from hand-built messages:
// compressed and uncompressed names, a CNAME on the way, the RFC 2181 top bit, and
// truncated input that must never be read past its end.
#include "dns/answer_ttl.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <vector>

namespace backstop::dns {
namespace {

using Bytes = std::vector<unsigned char>;

void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}

// Header, the question "mail.test MX", then one record per TTL (a pointer to the question
// name, type MX, 8 bytes of rdata).
Bytes answer(std::initializer_list<std::uint32_t> ttls, unsigned type = 15) {
  Bytes b;
  put16(b, 0x1234);
  put16(b, 0x8180);
  put16(b, 1);
  put16(b, static_cast<unsigned>(ttls.size()));
  put16(b, 0);
  put16(b, 0);
  for (const char* label : {"mail", "test"}) {
    b.push_back(static_cast<unsigned char>(std::strlen(label)));
    b.insert(b.end(), label, label + std::strlen(label));
  }
  b.push_back(0);
  put16(b, 15);
  put16(b, 1);
  for (auto ttl : ttls) {
    put16(b, 0xC00C); // name: pointer to offset 12
    put16(b, type);
    put16(b, 1);
    put32(b, ttl);
    put16(b, 8);
    put16(b, 10);
    b.insert(b.end(), {3, 'm', 'x', '1', 0xC0, 0x0C});
  }
  return b;
}

TEST(AnswerTtl, SmallestOfTheAnswerRecords) {
  EXPECT_EQ(min_answer_ttl(answer({3600, 120, 900})), 120u);
  EXPECT_EQ(min_answer_ttl(answer({0})), 0u);
}

TEST(AnswerTtl, CnameOnTheWayCounts) {
  auto b = answer({3600});
  auto cname = answer({60}, 5);
  // Two answer records: the CNAME (TTL 60) first, then the MX (TTL 3600).
  Bytes both(b.begin(), b.begin() + 27); // header + question
  both[7] = 2;
  both.insert(both.end(), cname.begin() + 27, cname.end());
  both.insert(both.end(), b.begin() + 27, b.end());
  EXPECT_EQ(min_answer_ttl(both), 60u);
}

TEST(AnswerTtl, TopBitMeansZero) { EXPECT_EQ(min_answer_ttl(answer({0x80000001u, 300})), 0u); }

TEST(AnswerTtl, EmptyAnswerSectionHasNoTtl) { EXPECT_EQ(min_answer_ttl(answer({})), std::nullopt); }

TEST(AnswerTtl, TruncatedMessagesAreRefusedAtEveryLength) {
  const auto full = answer({300, 600});
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_EQ(min_answer_ttl(cut), std::nullopt) << "cut at " << n;
  }
  EXPECT_EQ(min_answer_ttl(full), 300u);
}

TEST(AnswerTtl, LengthThatRunsPastTheEndIsRefused) {
  auto b = answer({300});
  b[b.size() - 10] = 0xFF; // rdlength high byte: far beyond the message
  EXPECT_EQ(min_answer_ttl(b), std::nullopt);
}

} // namespace
} // namespace backstop::dns
