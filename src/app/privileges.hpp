// privileges: started as root to bind port 25, the server runs as `user` once its
// listeners, queue, state store and control socket are open. What it goes on writing (the
// queue directory, the state store's files, the control socket) is handed to that user
// first, as Postfix hands its queue to mail_owner.
#pragma once
#include "mail/result.hpp"

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace backstop::app {

struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account, or an error naming it.
mail::Result<RunAs> look_up_user(const std::string& name);

// chown of each existing path (a directory with everything in it) to the user.
mail::Status hand_over(const std::vector<std::filesystem::path>& paths, const RunAs& user);

// Supplementary groups, group and user of the whole process (every thread), then a check
// that root cannot be regained.
mail::Status drop_to(const RunAs& user);

} // namespace backstop::app
