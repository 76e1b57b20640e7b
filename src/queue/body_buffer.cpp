// body_buffer: memory first, then a private spill file in tmp/.
#include "queue/body_buffer.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace backstop::queue {

namespace {
bool write_all(int fd, std::string_view data, int& error) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}
} // namespace

BodyBuffer::BodyBuffer(std::shared_ptr<const std::filesystem::path> tmp_dir,
                       std::size_t spill_threshold, ArrivalTicket ticket)
    : tmp_dir_(std::move(tmp_dir)), threshold_(spill_threshold), ticket_(std::move(ticket)) {}

BodyBuffer::BodyBuffer(BodyBuffer&& other) noexcept { *this = std::move(other); }

BodyBuffer& BodyBuffer::operator=(BodyBuffer&& other) noexcept {
  if (this != &other) {
    clear();
    tmp_dir_ = std::move(other.tmp_dir_);
    threshold_ = other.threshold_;
    memory_ = std::move(other.memory_);
    size_ = other.size_;
    fd_ = other.fd_;
    spill_path_ = std::move(other.spill_path_);
    failed_ = other.failed_;
    errno_ = other.errno_;
    ticket_ = std::move(other.ticket_);
    other.fd_ = -1;
    other.size_ = 0;
    other.memory_.clear();
    other.spill_path_.clear();
  }
  return *this;
}

BodyBuffer::~BodyBuffer() { clear(); }

void BodyBuffer::clear() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    std::error_code ignored;
    std::filesystem::remove(spill_path_, ignored);
  }
  memory_.clear();
  memory_.shrink_to_fit();
  size_ = 0;
  ticket_.release(); // a refused body is not arriving any more
}

mail::Status BodyBuffer::append(std::string_view bytes) {
  if (failed_) {
    return mail::make_error(std::string("message spill failed: ") + std::strerror(errno_));
  }
  size_ += bytes.size();
  if (fd_ < 0 && memory_.size() + bytes.size() <= threshold_) {
    memory_.append(bytes);
    return mail::Ok{};
  }
  if (fd_ < 0) {
    const std::filesystem::path dir = tmp_dir_ ? *tmp_dir_ : std::filesystem::path{};
    std::string name = (dir / "spill.XXXXXX").string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    spill_path_ = name;
    if (fd_ < 0 || !write_all(fd_, memory_, errno_)) {
      errno_ = fd_ < 0 ? errno : errno_;
      failed_ = true;
      return mail::make_error(std::string("cannot spill message: ") + std::strerror(errno_));
    }
    memory_.clear();
    memory_.shrink_to_fit();
  }
  if (!write_all(fd_, bytes, errno_)) {
    failed_ = true;
    return mail::make_error(std::string("cannot spill message: ") + std::strerror(errno_));
  }
  return mail::Ok{};
}

} // namespace backstop::queue
