// ingest: a read loop, a line splitter with a bounded tail, one store call per read.
#include "app/ingest.hpp"

#include "mail/address.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace backstop::app {

namespace {

// Splits what is read into lines; the unfinished last line waits for the next read.
class LineSplitter {
public:
  LineSplitter(const IngestOptions& options, const mail::Clock& clock, IngestCounts& counts)
      : options_(options), clock_(clock), counts_(counts),
        source_(std::string("ingest ") + to_string(options.format)) {}

  void feed(std::string_view data) {
    std::size_t start = 0;
    while (start < data.size()) {
      const std::size_t nl = data.find('\n', start);
      if (nl == std::string_view::npos) {
        keep_tail(data.substr(start));
        consumed_pending_ += data.size() - start;
        return;
      }
      finish_line(data.substr(start, nl - start));
      consumed_ += consumed_pending_ + (nl - start) + 1;
      consumed_pending_ = 0;
      start = nl + 1;
    }
  }
  // At the end of a stream, the last line without its newline is a line too.
  void flush_tail() {
    if (!tail_.empty() || overlong_) {
      finish_line({});
      consumed_ += consumed_pending_;
      consumed_pending_ = 0;
    }
  }
  std::uint64_t consumed() const { return consumed_; }
  std::vector<state::Contact> take_batch() { return std::exchange(batch_, {}); }

private:
  void keep_tail(std::string_view part) {
    if (overlong_) {
      return;
    }
    if (tail_.size() + part.size() > options_.max_line) {
      overlong_ = true;
      tail_.clear();
      tail_.shrink_to_fit();
      return;
    }
    tail_.append(part);
  }

  void finish_line(std::string_view end) {
    ++counts_.lines;
    if (overlong_ || tail_.size() + end.size() > options_.max_line) {
      ++counts_.malformed;
    } else if (tail_.empty()) {
      take(end);
    } else {
      tail_.append(end);
      take(tail_);
    }
    tail_.clear();
    overlong_ = false;
  }

  void take(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      ++counts_.other;
      return;
    }
    auto parsed = parse_log_line(options_.format, line, clock_.now_unix());
    if (parsed.kind == LineKind::Malformed) {
      ++counts_.malformed;
      return;
    }
    const std::string host =
        mail::normalize_domain(options_.host.empty() ? parsed.log_host : options_.host);
    if (parsed.kind == LineKind::Other || host.empty()) {
      ++counts_.other;
      return;
    }
    ++counts_.contacts;
    batch_.push_back({std::move(parsed.address), host, source_, parsed.at});
  }

  const IngestOptions& options_;
  const mail::Clock& clock_;
  IngestCounts& counts_;
  std::string source_;
  std::string tail_;
  bool overlong_ = false;
  std::uint64_t consumed_ = 0;         // bytes through the last newline
  std::uint64_t consumed_pending_ = 0; // bytes of the unfinished line
  std::vector<state::Contact> batch_;
};

mail::Error io_error(const std::string& what) {
  return mail::make_error(what + ": " + std::strerror(errno));
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

// Where to start in a file: after the remembered position, unless the file is another one
// now (rotated) or shorter than it (truncated).
std::uint64_t start_offset(const std::optional<state::IngestPosition>& known,
                           const struct stat& st) {
  if (!known || known->device != static_cast<std::uint64_t>(st.st_dev) ||
      known->inode != static_cast<std::uint64_t>(st.st_ino) ||
      known->offset > static_cast<std::uint64_t>(st.st_size)) {
    return 0;
  }
  return known->offset;
}

} // namespace

mail::Result<IngestCounts> ingest_file(state::ContactStore& store,
                                       const std::filesystem::path& file,
                                       const IngestOptions& options, const mail::Clock& clock) {
  std::error_code ec;
  const std::string key = std::filesystem::absolute(file, ec).lexically_normal().string();
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return io_error(file.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return io_error(file.string());
  }
  auto known = store.position(key);
  if (!known) {
    return mail::Error(known.error());
  }
  IngestCounts counts;
  counts.start = counts.offset = start_offset(known.value(), st);
  if (::lseek(fd.get(), static_cast<off_t>(counts.start), SEEK_SET) < 0) {
    return io_error(file.string());
  }
  LineSplitter lines(options, clock, counts);
  std::vector<char> buffer(options.chunk);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return io_error(file.string());
    }
    if (n == 0) {
      break;
    }
    lines.feed({buffer.data(), static_cast<std::size_t>(n)});
    const state::IngestPosition position{key, static_cast<std::uint64_t>(st.st_dev),
                                         static_cast<std::uint64_t>(st.st_ino),
                                         counts.start + lines.consumed()};
    if (auto done = store.record_ingested(lines.take_batch(), options.keep, position); !done) {
      return mail::Error(done.error());
    }
    counts.offset = position.offset;
  }
  return counts;
}

mail::Result<IngestCounts> ingest_stream(state::ContactStore& store, int fd,
                                         const IngestOptions& options, const mail::Clock& clock) {
  IngestCounts counts;
  LineSplitter lines(options, clock, counts);
  std::vector<char> buffer(options.chunk);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return io_error("standard input");
    }
    if (n == 0) {
      lines.flush_tail();
    } else {
      lines.feed({buffer.data(), static_cast<std::size_t>(n)});
    }
    if (auto batch = lines.take_batch(); !batch.empty()) {
      if (auto done = store.record(batch, options.keep); !done) {
        return mail::Error(done.error());
      }
    }
    if (n == 0) {
      return counts;
    }
  }
}

} // namespace backstop::app
