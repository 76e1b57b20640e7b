// spool_open: taking the spool (lock), emptying tmp/, and replaying the segments into the
// index. A torn record at the end of the newest segment was never acknowledged (its batch
// never reached fdatasync's return), so it is cut off; damage anywhere else is reported and
// the rest of that segment skipped, and the server still starts.
#include "queue/spool_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace backstop::queue {

namespace {
std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// What follows the last record of a segment that was zero-filled ahead (group_commit.cpp).
bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

std::optional<std::uint64_t> segment_number(const std::filesystem::path& p) {
  if (p.extension() != ".seg" || p.stem().string().size() != 16) {
    return std::nullopt;
  }
  try {
    return std::stoull(p.stem().string(), nullptr, 16);
  } catch (...) {
    return std::nullopt;
  }
}

bool read_file(int fd, std::string& out) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return false;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      out.resize(done);
      return n == 0;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}
} // namespace

mail::Result<std::unique_ptr<Spool>> Spool::open(SpoolOptions options) {
  auto spool = std::make_unique<SpoolImpl>(std::move(options), false);
  auto status = spool->open();
  if (!status) {
    return status.error();
  }
  return std::unique_ptr<Spool>(std::move(spool));
}

mail::Result<std::unique_ptr<Spool>> Spool::open_read_only(SpoolOptions options) {
  auto spool = std::make_unique<SpoolImpl>(std::move(options), true);
  auto status = spool->open();
  if (!status) {
    return status.error();
  }
  return std::unique_ptr<Spool>(std::move(spool));
}

SpoolImpl::SpoolImpl(SpoolOptions options, bool read_only)
    : options_(std::move(options)),
      tmp_dir_(std::make_shared<const std::filesystem::path>(options_.dir / "tmp")),
      read_only_(read_only) {}

SpoolImpl::~SpoolImpl() {
  close();
  if (dir_fd_ >= 0) {
    ::close(dir_fd_);
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
  }
}

SegmentFile::~SegmentFile() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::filesystem::path SpoolImpl::segment_path(std::uint64_t number) const {
  return options_.dir / "segments" / (mail::QueueId{number}.to_string() + ".seg");
}

mail::Status SpoolImpl::take_lock() {
  const auto lock_path = options_.dir / "lock";
  lock_fd_ = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    return mail::make_error(errno_text("cannot open " + lock_path.string()));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return mail::make_error("queue directory " + options_.dir.string() +
                            " is in use by another backstop process");
  }
  return mail::Ok{};
}

mail::Status SpoolImpl::create_segment(std::uint64_t number) {
  const auto path = segment_path(number);
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return mail::make_error(errno_text("cannot create " + path.string()));
  }
  // The new name must be durable before anything in the file is acknowledged.
  if (::fsync(fd) != 0 || ::fsync(dir_fd_) != 0) {
    const std::string why = errno_text("cannot sync new segment " + path.string());
    ::close(fd);
    ::unlink(path.c_str());
    return mail::make_error(why);
  }
  std::unique_lock lock(index_mutex_);
  segments_[number] = Segment{std::make_shared<const SegmentFile>(fd), 0, 0, 0};
  active_ = number;
  return mail::Ok{};
}

mail::Status SpoolImpl::open() {
  std::error_code ec;
  if (!read_only_) {
    std::filesystem::create_directories(options_.dir / "segments", ec);
    std::filesystem::create_directories(options_.dir / "tmp", ec);
    if (ec) {
      return mail::make_error("cannot create " + options_.dir.string() + ": " + ec.message());
    }
    if (auto locked = take_lock(); !locked) {
      return locked;
    }
    for (const auto& entry : std::filesystem::directory_iterator(options_.dir / "tmp", ec)) {
      std::filesystem::remove(entry.path(), ec); // never acknowledged
    }
  }
  const auto seg_dir = options_.dir / "segments";
  if (read_only_ && !std::filesystem::exists(seg_dir, ec)) {
    return mail::Ok{}; // never served from yet: an empty queue, and a look creates nothing
  }
  dir_fd_ = ::open(seg_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    return mail::make_error(errno_text("cannot open " + seg_dir.string()));
  }
  std::vector<std::uint64_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(seg_dir, ec)) {
    if (auto n = segment_number(entry.path())) {
      numbers.push_back(*n);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (auto replayed = replay_segment(numbers[i], i + 1 == numbers.size()); !replayed) {
      return replayed;
    }
  }
  const auto now_us =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::uint64_t max_id = 0;
  for (const auto& [id, e] : index_) {
    max_id = std::max(max_id, id);
  }
  next_id_ = std::max(max_id + 1, now_us);
  if (read_only_) {
    return mail::Ok{};
  }
  if (numbers.empty()) {
    if (auto created = create_segment(1); !created) {
      return created;
    }
  } else {
    active_ = numbers.back();
  }
  committer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "bs-commit");
    committer_loop();
  });
  return mail::Ok{};
}

void SpoolImpl::apply_message(std::uint64_t segment, std::uint64_t body_offset, mail::QueueId id,
                              mail::Envelope envelope, MessageState state,
                              std::uint64_t body_size) {
  auto existing = index_.find(id.value);
  if (existing != index_.end()) {
    segments_[existing->second.segment].live_messages--;
  }
  IndexEntry entry;
  entry.segment = segment;
  entry.body_offset = body_offset;
  entry.message = QueuedMessage{id, std::move(envelope), std::move(state), body_size};
  index_[id.value] = std::move(entry);
  segments_[segment].live_messages++;
  segments_[segment].messages++;
}

void SpoolImpl::apply_remove(mail::QueueId id) {
  auto it = index_.find(id.value);
  if (it != index_.end()) {
    segments_[it->second.segment].live_messages--;
    index_.erase(it);
  }
}

mail::Status SpoolImpl::replay_segment(std::uint64_t number, bool last) {
  const auto path = segment_path(number);
  const int fd = ::open(path.c_str(), (read_only_ ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    return mail::make_error(errno_text("cannot open " + path.string()));
  }
  segments_[number].file = std::make_shared<const SegmentFile>(fd);
  std::string data;
  if (!read_file(fd, data)) {
    return mail::make_error(errno_text("cannot read " + path.string()));
  }
  std::uint64_t pos = 0;
  while (pos < data.size()) {
    std::string_view rest(data.data() + pos, data.size() - pos);
    auto header = decode_header(rest);
    if (!header || header->payload_length > rest.size() - header_size) {
      break;
    }
    std::string_view payload = rest.substr(header_size, header->payload_length);
    if (record_crc(rest, crc32_of(payload), payload.size()) != header->crc) {
      break;
    }
    const mail::QueueId id{header->id};
    if (header->type == RecordType::Message) {
      auto parts = decode_message_prefix(payload);
      if (!parts) {
        break;
      }
      apply_message(number, pos + header_size + parts->body_offset, id, std::move(parts->envelope),
                    std::move(parts->state), payload.size() - parts->body_offset);
    } else if (header->type == RecordType::State) {
      auto state = decode_state(payload);
      auto it = index_.find(id.value);
      if (state && it != index_.end() &&
          state->recipients.size() == it->second.message.envelope.recipients.size()) {
        it->second.message.state = std::move(*state);
      }
    } else {
      apply_remove(id);
    }
    pos += header_size + header->payload_length;
  }
  segments_[number].size = pos;
  if (pos < data.size()) {
    if (last && !read_only_) {
      // The batch this tail belonged to never returned from fdatasync: not acknowledged.
      if (::ftruncate(fd, static_cast<off_t>(pos)) != 0 || ::fsync(fd) != 0) {
        return mail::make_error(errno_text("cannot cut torn tail of " + path.string()));
      }
    } else if (!last && !all_zero(std::string_view(data).substr(pos))) {
      std::cerr << "backstop: " << path.string() << ": damaged record at offset " << pos
                << "; the rest of this segment (" << data.size() - pos << " bytes) is skipped\n";
    }
  }
  return mail::Ok{};
}

} // namespace backstop::queue
