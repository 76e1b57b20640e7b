// queue_admin: the mailq/postsuper-like operations (list, show, delete, hold, release) as
// JSON requests and JSON answers. One implementation serves both ways in: the control socket
// of a running server and the CLI working on a stopped server's spool.
#pragma once

#include "queue/spool.hpp"

#include <functional>
#include <nlohmann/json.hpp>

namespace backstop::admin {

// Delivery hooks the admin side may call ("flush"); absent until delivery is wired.
struct QueueActions {
  std::function<nlohmann::json(const std::string& domain)> flush;
  // delete/hold/release through the delivery scheduler, the only writer while it runs.
  std::function<nlohmann::json(const std::string& command, mail::QueueId id)> modify;
};

// request: {"command": "list" | "show" | "delete" | "hold" | "release" | "flush",
//           "id": "<queue id>", "domain": "<domain>"}
// answer: {"ok": true, ...} or {"ok": false, "error": "..."}
nlohmann::json execute_queue_request(queue::Spool& spool, const nlohmann::json& request,
                                     const QueueActions& actions = {});

nlohmann::json message_to_json(const queue::QueuedMessage& message);

} // namespace backstop::admin
