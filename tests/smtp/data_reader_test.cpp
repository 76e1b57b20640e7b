// data_reader_test: dot-unstuffing, the only terminator, smuggling sequences at every split
// point, limits, and BDAT chunks.
#include "smtp/data_reader.hpp"
#include "smtp/dot_stuffer.hpp"

#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

struct Fed {
  std::string out;
  std::size_t consumed = 0;
  bool done = false;
};

Fed feed_split(std::string_view input, std::size_t split, DataReader& reader) {
  Fed f;
  for (std::string_view part : {input.substr(0, split), input.substr(split)}) {
    if (f.done) {
      break;
    }
    auto step = reader.feed(part, f.out);
    f.consumed += step.consumed;
    f.done = step.done;
  }
  return f;
}

// Feeds input split at every position; all must agree. Returns the unsplit result.
Fed feed_everywhere(std::string_view input, std::uint64_t* bare = nullptr) {
  DataReader whole_reader;
  Fed whole = feed_split(input, input.size(), whole_reader);
  for (std::size_t split = 0; split <= input.size(); ++split) {
    DataReader reader;
    Fed f = feed_split(input, split, reader);
    EXPECT_EQ(f.out, whole.out) << "split at " << split;
    EXPECT_EQ(f.done, whole.done) << "split at " << split;
    EXPECT_EQ(f.consumed, whole.consumed) << "split at " << split;
  }
  if (bare != nullptr) {
    *bare = whole_reader.bare_line_endings();
  }
  return whole;
}

TEST(DataReader, UnstuffsAndStopsAtTerminator) {
  auto f = feed_everywhere("Subject: x\r\n\r\n..dot\r\n.\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_TRUE(f.done);
  EXPECT_EQ(f.out, "Subject: x\r\n\r\n.dot\r\n");
  EXPECT_EQ(f.consumed, std::string("Subject: x\r\n\r\n..dot\r\n.\r\n").size());
}

TEST(DataReader, EmptyMessage) {
  auto f = feed_everywhere(".\r\n");
  EXPECT_TRUE(f.done);
  EXPECT_EQ(f.out, "");
}

struct Smuggle {
  const char* label;
  const char* fake_end;
};

void PrintTo(const Smuggle& s, std::ostream* os) { *os << s.label; }

class SmugglingTest : public ::testing::TestWithParam<Smuggle> {};

TEST_P(SmugglingTest, FakeEndNeverTerminates) {
  const std::string input =
      std::string("text") + GetParam().fake_end + "MAIL FROM:<evil@x.example>\r\nmore\r\n.\r\n";
  std::uint64_t bare = 0;
  auto f = feed_everywhere(input, &bare);
  EXPECT_TRUE(f.done);
  EXPECT_EQ(f.consumed, input.size()) << "stopped early: smuggling";
  EXPECT_GT(bare, 0u);
  EXPECT_NE(f.out.find("MAIL FROM:<evil@x.example>\r\n"), std::string::npos);
  EXPECT_EQ(f.out.find('\n', 0), f.out.find("\r\n") + 1); // every LF is part of a CRLF
  std::string wire;
  dot_stuff(f.out, wire);
  EXPECT_EQ(wire.find("\r\n.\r\n"), wire.size() - 5) << "the next hop would see an end";
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, SmugglingTest,
    ::testing::Values(Smuggle{"lf_dot_lf", "\n.\n"}, Smuggle{"cr_dot_cr", "\r.\r"},
                      Smuggle{"lf_dot_crlf", "\n.\r\n"}, Smuggle{"crlf_dot_lf", "\r\n.\n"},
                      Smuggle{"crlf_dot_cr", "\r\n.\r"}, Smuggle{"cr_dot_crlf", "\r.\r\n"},
                      Smuggle{"lf_dot_cr", "\n.\r"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(DataReader, LongLinesFlaggedButReadToTheEnd) {
  DataReader reader(20);
  std::string out;
  auto step = reader.feed(std::string(30, 'x') + "\r\nshort\r\n.\r\n", out);
  EXPECT_TRUE(step.done);
  EXPECT_TRUE(reader.line_too_long());
  DataReader ok(20);
  out.clear();
  ok.feed(std::string(18, 'x') + "\r\n.\r\n", out);
  EXPECT_FALSE(ok.line_too_long());
}

TEST(DataReader, ChunksNormaliseAcrossBoundaries) {
  DataReader reader;
  std::string out;
  reader.feed_chunk("line one\r", out);
  reader.feed_chunk("\nline two\n.lead dot\r", out);
  reader.finish_chunks(out);
  EXPECT_EQ(out, "line one\r\nline two\r\n.lead dot\r\n");
  EXPECT_EQ(reader.bare_line_endings(), 2u);
  EXPECT_EQ(reader.message_octets(), out.size());
}

TEST(DotStuffer, RoundTripsThroughDataReader) {
  const std::string message = ".start\r\nmiddle\r\n..two\r\n.\r\nend\r\n";
  std::string wire;
  dot_stuff(message, wire);
  EXPECT_EQ(wire, "..start\r\nmiddle\r\n...two\r\n..\r\nend\r\n.\r\n");
  auto f = feed_everywhere(wire);
  EXPECT_EQ(f.out, message);
}

// Whole lines take a fast path (one append per CRLF line); one octet at a time never does.
// Both must agree on everything the session reads, for every kind of line ending.
TEST(DataReader, WholeLinesAndSingleOctetsAgree) {
  const std::string line(990, 'x');
  const std::string inputs[] = {
      "a\r\nb\r\n\r\n.\r\n",
      "bare\nlf\r\n..dot\r\n.\nstill\r\n.\r\n",
      "cr\ronly\r\r\n.x\r\n\n.\r\n\r\n.\r\n",
      line + "\r\n" + line + "yyyyyyyyyy\r\n.\r\n",
      "no terminator\r\nyet\r",
  };
  for (const auto& input : inputs) {
    DataReader whole;
    Fed w;
    const auto step = whole.feed(input, w.out);
    DataReader octets;
    Fed o;
    for (std::size_t i = 0; i < input.size() && !o.done; ++i) {
      const auto s = octets.feed(std::string_view(input).substr(i, 1), o.out);
      o.consumed += s.consumed;
      o.done = s.done;
    }
    EXPECT_EQ(w.out, o.out) << input;
    EXPECT_EQ(step.done, o.done) << input;
    EXPECT_EQ(step.consumed, o.consumed) << input;
    EXPECT_EQ(whole.bare_line_endings(), octets.bare_line_endings()) << input;
    EXPECT_EQ(whole.line_too_long(), octets.line_too_long()) << input;
    EXPECT_EQ(whole.message_octets(), octets.message_octets()) << input;
  }
}

// A flood of bare CRs without an LF: each is a line ending of its own, and the scan for the
// next LF is made once, not once per CR (that was quadratic in the chunk size).
TEST(DataReader, BareCarriageReturnFloodIsReadLinearly) {
  const std::size_t crs = 64 * 1024;
  const std::string flood(crs, '\r');
  DataReader data;
  std::string out;
  const auto step = data.feed(flood + "\n.\r\n", out);
  EXPECT_TRUE(step.done);
  EXPECT_EQ(data.bare_line_endings(), crs - 1);
  EXPECT_EQ(out.size(), 2 * crs);

  DataReader chunks;
  std::string chunk_out;
  chunks.feed_chunk(flood, chunk_out);
  chunks.finish_chunks(chunk_out);
  EXPECT_EQ(chunks.bare_line_endings(), crs);
  EXPECT_EQ(chunk_out.size(), 2 * crs);
}

} // namespace
} // namespace backstop::smtp
