#include "app/privileges.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace backstop::app {

namespace {

mail::Error system_error(const std::string& what) {
  return mail::Error{what + ": " + std::strerror(errno)};
}

mail::Status change_owner(const std::filesystem::path& path, const RunAs& user) {
  if (::lchown(path.c_str(), user.uid, user.gid) != 0) {
    return system_error("user " + user.name + ": chown " + path.string());
  }
  return mail::Ok{};
}

} // namespace

mail::Result<RunAs> look_up_user(const std::string& name) {
  errno = 0;
  const passwd* entry = ::getpwnam(name.c_str());
  if (entry == nullptr) {
    return mail::make_error("user \"" + name + "\" does not exist on this host");
  }
  return RunAs{name, entry->pw_uid, entry->pw_gid};
}

mail::Status hand_over(const std::vector<std::filesystem::path>& paths, const RunAs& user) {
  for (const auto& path : paths) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
      continue;
    }
    if (auto status = change_owner(path, user); !status) {
      return status;
    }
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) {
      continue;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (auto status = change_owner(it->path(), user); !status) {
        return status;
      }
    }
    if (ec) {
      return mail::make_error("user " + user.name + ": " + path.string() + ": " + ec.message());
    }
  }
  return mail::Ok{};
}

mail::Status drop_to(const RunAs& user) {
  // glibc applies these to every thread of the process, not only the calling one.
  if (::initgroups(user.name.c_str(), user.gid) != 0) {
    return system_error("user " + user.name + ": initgroups");
  }
  if (::setgid(user.gid) != 0) {
    return system_error("user " + user.name + ": setgid");
  }
  if (::setuid(user.uid) != 0) {
    return system_error("user " + user.name + ": setuid");
  }
  if (user.uid != 0 && ::setuid(0) == 0) {
    return mail::make_error("user " + user.name + ": root could be regained after setuid");
  }
  return mail::Ok{};
}

} // namespace backstop::app
