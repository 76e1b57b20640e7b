// data_reader: the DATA automaton. States track where we are in a line:
//   LineStart   at the start of a line (after CRLF, or at the start of the message)
//   Dot         saw "." at LineStart (maybe the terminator, maybe a stuffed dot)
//   DotCr       saw ".\r" at LineStart: only "\n" next makes the terminator
//   InLine      inside a line
//   Cr          saw "\r" inside a line (or after text): "\n" ends the line properly
// A lone CR or a lone LF is written as CRLF and counted; the line after it does NOT
// count as LineStart, so "\n.\n" and friends can never terminate. A dot after a bare
// ending is kept as text: it is re-stuffed on output, so the next hop sees ".." and never
// a terminator.
#include "smtp/data_reader.hpp"

#include <cstring>

namespace backstop::smtp {

namespace {
enum State : int { LineStart = 0, Dot = 1, DotCr = 2, InLine = 3, Cr = 4, AfterBare = 5 };

// Finds the first CR or LF at or after a position. The next LF is remembered until it is
// passed, and a CR is looked for only before it: linear in the input even for hostile input
// of bare CRs without an LF.
class LineBreaks {
public:
  explicit LineBreaks(std::string_view in) : in_(in) {}
  std::size_t next(std::size_t from) {
    if (!known_ || lf_at_ < from) {
      const void* lf = std::memchr(in_.data() + from, '\n', in_.size() - from);
      lf_at_ = lf != nullptr ? offset(lf) : in_.size();
      known_ = true;
    }
    const void* cr = std::memchr(in_.data() + from, '\r', lf_at_ - from);
    return cr != nullptr ? offset(cr) : lf_at_;
  }

private:
  std::size_t offset(const void* p) const {
    return static_cast<std::size_t>(static_cast<const char*>(p) - in_.data());
  }
  std::string_view in_;
  std::size_t lf_at_ = 0;
  bool known_ = false;
};
} // namespace

void DataReader::reset() {
  state_ = LineStart;
  line_length_ = 0;
  bare_line_endings_ = 0;
  octets_ = 0;
  line_too_long_ = false;
}

DataReader::Step DataReader::feed(std::string_view in, std::string& out) {
  const std::size_t before = out.size();
  std::size_t i = 0;
  LineBreaks breaks(in);
  auto emit = [&](std::string_view text) { out.append(text); };
  auto count_line = [&](std::size_t n) {
    line_length_ += n;
    if (line_length_ + 2 > max_line_) {
      line_too_long_ = true;
    }
  };
  auto end_line = [&](bool bare) {
    emit("\r\n");
    line_length_ = 0;
    if (bare) {
      ++bare_line_endings_;
      state_ = AfterBare;
    } else {
      state_ = LineStart;
    }
  };
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
    case LineStart:
      if (c == '.') {
        state_ = Dot;
        ++i;
        continue;
      }
      state_ = InLine;
      continue;
    case Dot:
      if (c == '\r') {
        state_ = DotCr;
        ++i;
        continue;
      }
      // A stuffed dot: drop it; "." followed by a bare LF is text "." then a bare ending.
      if (c == '\n') {
        emit(".");
        count_line(1);
        end_line(true);
        ++i;
        continue;
      }
      state_ = InLine;
      continue;
    case DotCr:
      if (c == '\n') {
        ++i;
        octets_ += out.size() - before;
        reset_after_end();
        return {i, true};
      }
      // ".\r" then something else: text ".", then a bare CR.
      emit(".");
      count_line(1);
      end_line(true);
      continue;
    case Cr:
      if (c == '\n') {
        end_line(false);
        ++i;
        continue;
      }
      end_line(true); // a bare CR
      continue;
    case AfterBare:
    case InLine: {
      // Copy the run up to the next CR or LF in one go; with its CRLF when it has one.
      const char* start = in.data() + i;
      const std::size_t end = breaks.next(i);
      const std::size_t n = end - i;
      if (end + 1 < in.size() && in[end] == '\r' && in[end + 1] == '\n') {
        emit(std::string_view(start, n + 2));
        count_line(n);
        line_length_ = 0;
        state_ = LineStart;
        i = end + 2;
        continue;
      }
      if (n > 0) {
        emit(std::string_view(start, n));
        count_line(n);
        i += n;
        state_ = InLine;
        continue;
      }
      if (in[i] == '\r') {
        state_ = Cr;
      } else {
        end_line(true); // a bare LF
      }
      ++i;
      continue;
    }
    default:
      state_ = InLine;
    }
  }
  octets_ += out.size() - before;
  return {i, false};
}

void DataReader::feed_chunk(std::string_view in, std::string& out) {
  const std::size_t before = out.size();
  LineBreaks breaks(in);
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (state_ == Cr) {
      out.append("\r\n");
      line_length_ = 0;
      if (c == '\n') {
        state_ = InLine;
        ++i;
      } else {
        ++bare_line_endings_;
        state_ = InLine;
      }
      continue;
    }
    const std::size_t n = breaks.next(i) - i;
    if (n > 0) {
      out.append(in.substr(i, n));
      line_length_ += n;
      if (line_length_ + 2 > max_line_) {
        line_too_long_ = true;
      }
      i += n;
      continue;
    }
    if (c == '\r') {
      state_ = Cr;
    } else {
      out.append("\r\n");
      line_length_ = 0;
      ++bare_line_endings_;
    }
    ++i;
  }
  octets_ += out.size() - before;
}

void DataReader::finish_chunks(std::string& out) {
  if (state_ == Cr) {
    out.append("\r\n");
    ++bare_line_endings_;
    octets_ += 2;
    state_ = InLine;
  }
}

void DataReader::reset_after_end() {
  state_ = LineStart;
  line_length_ = 0;
}

} // namespace backstop::smtp
