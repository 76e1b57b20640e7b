// data_reader: reads DATA up to CRLF.CRLF and undoes dot-stuffing (RFC 5321 4.5.2).
// Only CR LF "." CR LF ends the data: a bare CR or LF next to the dot never does (no SMTP
// smuggling, CVE-2023-51764 class). Bare CR / bare LF inside the text are turned into CRLF
// in the output and counted, so the session can reject or accept such a message and what
// we store or relay can never be read as an end of data by the next hop.
// Knows no sockets, writes no spool. Also checks BDAT chunks (no dot handling there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace backstop::smtp {

class DataReader {
public:
  // max_line: longest text line allowed, CRLF included (RFC 5321: 1000).
  explicit DataReader(std::size_t max_line = 1000) : max_line_(max_line) {}

  struct Step {
    std::size_t consumed = 0; // octets of input used; the rest belongs to the next command
    bool done = false;        // the terminating CRLF.CRLF was consumed
  };

  // DATA mode: appends the unstuffed message (every line ending as CRLF) to out. The
  // terminating ".CRLF" is not part of the message. Input may be split anywhere.
  Step feed(std::string_view input, std::string& out);

  // BDAT mode: the whole input is message content (no dot-unstuffing); same line checks and
  // bare-ending normalisation. Call finish_chunks() after the LAST chunk.
  void feed_chunk(std::string_view input, std::string& out);
  void finish_chunks(std::string& out);

  std::uint64_t bare_line_endings() const { return bare_line_endings_; }
  bool line_too_long() const { return line_too_long_; }
  std::uint64_t message_octets() const { return octets_; } // octets appended to out so far
  void reset();                                            // ready for the next message

private:
  void reset_after_end();

  std::size_t max_line_;
  // States of the DATA automaton; see data_reader.cpp.
  int state_ = 0;
  std::size_t line_length_ = 0;
  std::uint64_t bare_line_endings_ = 0;
  std::uint64_t octets_ = 0;
  bool line_too_long_ = false;
};

} // namespace backstop::smtp
