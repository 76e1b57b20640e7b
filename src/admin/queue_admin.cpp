// queue_admin: queue operations as JSON in, JSON out.
#include "admin/queue_admin.hpp"

#include "admin/base64.hpp"

#include <future>

namespace backstop::admin {

using nlohmann::json;

namespace {

const char* status_name(queue::RecipientStatus s) {
  switch (s) {
  case queue::RecipientStatus::Pending:
    return "pending";
  case queue::RecipientStatus::Delivered:
    return "delivered";
  case queue::RecipientStatus::Failed:
    return "failed";
  }
  return "unknown";
}

json error(const std::string& text) { return json{{"ok", false}, {"error", text}}; }

// RFC 3461 keywords as the client sent them; empty when NOTIFY was not given.
json notify_names(std::uint8_t notify) {
  json names = json::array();
  for (auto [flag, name] : {std::pair{mail::NotifyNever, "NEVER"},
                            {mail::NotifySuccess, "SUCCESS"},
                            {mail::NotifyFailure, "FAILURE"},
                            {mail::NotifyDelay, "DELAY"}}) {
    if (notify & flag) {
      names.push_back(name);
    }
  }
  return names;
}

const char* ret_name(mail::DsnRet ret) {
  switch (ret) {
  case mail::DsnRet::Full:
    return "FULL";
  case mail::DsnRet::Headers:
    return "HDRS";
  case mail::DsnRet::Unset:
    break;
  }
  return "";
}

// Waits for a spool update: the control socket and CLI run off the event loops.
queue::CommitResult wait_for(const std::function<void(queue::CommitCallback)>& start) {
  std::promise<queue::CommitResult> promise;
  auto future = promise.get_future();
  start([&promise](queue::CommitResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

json set_held(queue::Spool& spool, mail::QueueId id, bool held) {
  auto message = spool.find(id);
  if (!message) {
    return error("no message " + id.to_string() + " in the queue");
  }
  auto state = message->state;
  state.held = held;
  auto result =
      wait_for([&](queue::CommitCallback done) { spool.update_state(id, state, std::move(done)); });
  if (!result.ok()) {
    return error("cannot update " + id.to_string() + ": " + result.detail);
  }
  return json{{"ok", true}, {"id", id.to_string()}, {"held", held}};
}

json remove(queue::Spool& spool, mail::QueueId id) {
  if (!spool.find(id)) {
    return error("no message " + id.to_string() + " in the queue");
  }
  auto result = wait_for([&](queue::CommitCallback done) { spool.remove(id, std::move(done)); });
  if (!result.ok()) {
    return error("cannot delete " + id.to_string() + ": " + result.detail);
  }
  return json{{"ok", true}, {"id", id.to_string()}, {"deleted", true}};
}

} // namespace

json message_to_json(const queue::QueuedMessage& m) {
  json recipients = json::array();
  for (std::size_t i = 0; i < m.envelope.recipients.size(); ++i) {
    const auto& r = m.envelope.recipients[i];
    json entry{
        {"address", r.address.to_string()}, {"notify", notify_names(r.notify)}, {"orcpt", r.orcpt}};
    if (i < m.state.recipients.size()) {
      const auto& s = m.state.recipients[i];
      entry["status"] = status_name(s.status);
      entry["attempts"] = s.attempts;
      entry["next_attempt"] = s.next_attempt_unix;
      entry["last_error"] = s.last_error;
    }
    recipients.push_back(std::move(entry));
  }
  const auto& e = m.envelope;
  return json{{"id", m.id.to_string()},
              {"size", m.body_size},
              {"arrival", e.arrival_unix},
              {"sender", e.sender.to_string()},
              {"sender_verified", e.sender_verified},
              {"recipients", std::move(recipients)},
              {"status", m.state.held ? "held" : "active"},
              {"client_ip", e.client_ip},
              {"helo", e.helo},
              {"tls", e.tls},
              {"smtputf8", e.smtputf8},
              {"envid", e.envid},
              {"ret", ret_name(e.ret)}};
}

json execute_queue_request(queue::Spool& spool, const json& request, const QueueActions& actions) {
  const std::string command = request.value("command", "");
  if (command == "list") {
    json messages = json::array();
    for (const auto& m : spool.list()) {
      messages.push_back(message_to_json(m));
    }
    return json{{"ok", true}, {"messages", std::move(messages)}};
  }
  if (command == "flush") {
    if (!actions.flush) {
      return error("delivery is not running");
    }
    return actions.flush(request.value("domain", ""));
  }
  auto id = mail::QueueId::parse(request.value("id", ""));
  if (!id) {
    return error("\"" + request.value("id", "") + "\" is not a queue id");
  }
  if (command == "show") {
    auto message = spool.find(*id);
    if (!message) {
      return error("no message " + id->to_string() + " in the queue");
    }
    auto body = spool.read_body(*id);
    json out{{"ok", true}, {"message", message_to_json(*message)}};
    out["body"] = body.ok() ? body.value() : ""; // for people; not UTF-8 safe in JSON
    out["body_base64"] = body.ok() ? base64_encode(body.value()) : ""; // exact bytes
    return out;
  }
  const bool modifying = command == "delete" || command == "hold" || command == "release";
  if (modifying && actions.modify) {
    return actions.modify(command, *id);
  }
  if (command == "delete") {
    return remove(spool, *id);
  }
  if (command == "hold" || command == "release") {
    return set_held(spool, *id, command == "hold");
  }
  return error("unknown command \"" + command + "\"");
}

} // namespace backstop::admin
