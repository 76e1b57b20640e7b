// control_dispatch: the admin requests and what each one reads.
#include "admin/control_dispatch.hpp"

#include "admin/offender_json.hpp"
#include "admin/prometheus.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace backstop::admin {

using nlohmann::json;

namespace {

constexpr std::int64_t day = 86400;

json failed(const std::string& error) { return json{{"ok", false}, {"error", error}}; }

// The primary's changes of the last day per "domain host", oldest first, for the timeline.
json primary_timeline(state::Store& store, std::int64_t now) {
  json out = json::object();
  auto changes = store.primary_status().history("", now - day, 10000);
  if (changes) {
    for (const auto& c : changes.value()) {
      out[c.domain + " " + c.host].push_back({{"at", c.at}, {"up", c.to == "up"}});
    }
  }
  return out;
}

// The ten addresses with the most offenses in the last week, and whether they are listed.
json top_offenders(state::Store& store, std::int64_t now) {
  std::map<std::string, std::uint64_t> counts;
  if (auto offenses = store.offenders().offenses("", now - 7 * day, 100000)) {
    for (const auto& o : offenses.value()) {
      ++counts[o.address];
    }
  }
  std::set<std::string> listed;
  if (auto listings = store.offenders().listings(now)) {
    for (const auto& l : listings.value()) {
      listed.insert(l.address);
    }
  }
  std::vector<std::pair<std::string, std::uint64_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  json out = json::array();
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    out.push_back({{"address", ranked[i].first},
                   {"offenses", ranked[i].second},
                   {"listed", listed.contains(ranked[i].first)}});
  }
  return out;
}

// A request's integer field, given as a number or as text (an HTTP query parameter).
std::int64_t integer_field(const json& request, const char* key, std::int64_t otherwise) {
  const auto it = request.find(key);
  if (it == request.end() || it->is_null()) {
    return otherwise;
  }
  if (it->is_number_integer()) {
    return it->get<std::int64_t>();
  }
  if (it->is_string() && !it->get<std::string>().empty()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return otherwise;
    }
  }
  return otherwise;
}

json host_json(const PrimaryHostView& h) {
  return json{{"host", h.host},           {"state", h.state}, {"failures", h.failures},
              {"successes", h.successes}, {"since", h.since}, {"checked_at", h.checked_at},
              {"reason", h.reason}};
}

} // namespace

json ControlDispatcher::handle(const json& request) {
  const std::lock_guard lock(mutex_);
  return answer(request);
}

json ControlDispatcher::answer(const json& request) {
  const std::string command = request.value("command", "");
  if (command == "cache_flush") {
    return services_.flush_cache ? services_.flush_cache(request.value("pattern", ""))
                                 : failed("no verification cache");
  }
  if (command == "stats") {
    return stats();
  }
  if (command == "status") {
    return status();
  }
  if (command == "primary") {
    return primary();
  }
  if (command == "primary_history") {
    return primary_history(request);
  }
  if (command == "offenders") {
    return offenders(request);
  }
  if (command == "blacklist") {
    return blacklist();
  }
  if (command == "config") {
    auto summary = services_.config_summary ? services_.config_summary() : json(nullptr);
    return summary.is_null() ? failed("the configuration cannot be read now")
                             : json{{"ok", true}, {"config", std::move(summary)}};
  }
  return execute_queue_request(*services_.spool, request, services_.queue);
}

json ControlDispatcher::stats() const {
  json counters = json::object();
  for (const auto& sample : services_.counters->samples()) {
    counters[std::string(sample.name)] = sample.value;
  }
  json refusals = json::object();
  for (const auto& [key, value] : services_.counters->refusals()) {
    refusals[key] = value;
  }
  return {{"ok", true},
          {"uptime_seconds", services_.clock->now_unix() - services_.started_unix},
          {"queued_messages", services_.spool->stats().messages},
          {"counters", std::move(counters)},
          {"refusals", std::move(refusals)}};
}

// What the status page draws (the SQLite connection has its own lock: read from here).
json ControlDispatcher::status() const {
  const auto now = services_.clock->now_unix();
  auto* store = services_.store;
  return {{"ok", true},
          {"now", now},
          {"uptime_seconds", now - services_.started_unix},
          {"samples", services_.history ? services_.history->to_json() : json::array()},
          {"primary", store ? primary_timeline(*store, now) : json::object()},
          {"offenders", store ? top_offenders(*store, now) : json::array()}};
}

json ControlDispatcher::primary() const {
  json domains = json::array();
  if (services_.primaries) {
    for (const auto& d : services_.primaries()) {
      json hosts = json::array();
      for (const auto& h : d.hosts) {
        hosts.push_back(host_json(h));
      }
      domains.push_back(
          {{"domain", d.domain}, {"state", d.state}, {"reason", d.reason}, {"hosts", hosts}});
    }
  }
  return {{"ok", true}, {"domains", domains}};
}

// The recorded changes since `since` (unix seconds; default a day ago), oldest first.
json ControlDispatcher::primary_history(const json& request) const {
  if (services_.store == nullptr) {
    return failed("no state store");
  }
  const auto now = services_.clock->now_unix();
  const auto since = integer_field(request, "since", now - day);
  const auto limit = std::clamp<std::int64_t>(integer_field(request, "limit", 1000), 1, 100000);
  auto changes = services_.store->primary_status().history(request.value("domain", ""), since,
                                                           static_cast<std::size_t>(limit));
  if (!changes) {
    return failed(changes.error().message);
  }
  json out = json::array();
  for (const auto& c : changes.value()) {
    out.push_back({{"domain", c.domain},
                   {"host", c.host},
                   {"from", c.from},
                   {"to", c.to},
                   {"at", c.at},
                   {"reason", c.reason}});
  }
  return {{"ok", true}, {"changes", out}};
}

// As `backstop offenders --json`: since (unix seconds; default every offense kept), address.
json ControlDispatcher::offenders(const json& request) const {
  if (services_.store == nullptr) {
    return failed("no state store");
  }
  const auto now = services_.clock->now_unix();
  auto all = gather_evidence(services_.store->offenders(), request.value("address", ""),
                             integer_field(request, "since", 0), now);
  if (!all) {
    return failed(all.error().message);
  }
  auto out = evidence_json(all.value());
  out["ok"] = true;
  return out;
}

// As `backstop blacklist list --json`.
json ControlDispatcher::blacklist() const {
  if (services_.store == nullptr) {
    return failed("no state store");
  }
  auto listings = services_.store->offenders().listings(services_.clock->now_unix());
  if (!listings) {
    return failed(listings.error().message);
  }
  auto out = listings_json(listings.value());
  out["ok"] = true;
  return out;
}

std::string ControlDispatcher::metrics() const {
  const auto stats = services_.spool->stats();
  const auto now = services_.clock->now_unix();
  const double oldest =
      stats.oldest_arrival == 0
          ? 0.0
          : static_cast<double>(std::max<std::int64_t>(0, now - stats.oldest_arrival));
  std::vector<Gauge> gauges{
      {"queue_messages", "Messages in the queue.", static_cast<double>(stats.messages)},
      {"queue_oldest_message_age_seconds",
       "Age of the oldest message in the queue (0 when it is empty).", oldest},
      {"uptime_seconds", "Seconds since the server started.",
       static_cast<double>(now - services_.started_unix)}};
  if (services_.gauges) {
    for (auto& g : services_.gauges()) {
      gauges.push_back(std::move(g));
    }
  }
  std::vector<PrimaryUp> primaries;
  if (services_.primaries) {
    for (const auto& d : services_.primaries()) {
      primaries.push_back({d.domain, d.state == "up"});
    }
  }
  return prometheus_text(*services_.counters, gauges, primaries);
}

} // namespace backstop::admin
