// serve: wiring and the process lifecycle.
#include "app/serve.hpp"

#include "admin/control_dispatch.hpp"
#include "admin/control_socket.hpp"
#include "admin/history.hpp"
#include "admin/http_admin.hpp"
#include "admin/prometheus.hpp"
#include "admin/queue_admin.hpp"
#include "app/config_loader.hpp"
#include "app/config_summary.hpp"
#include "app/cpu_scheduling.hpp"
#include "app/descriptor_budget.hpp"
#include "app/listener_config.hpp"
#include "app/local_identity.hpp"
#include "app/logging.hpp"
#include "app/monitor_config.hpp"
#include "app/offenders.hpp"
#include "app/peers_config.hpp"
#include "app/privileges.hpp"
#include "app/reload_diff.hpp"
#include "app/service_manager.hpp"
#include "app/state_fallback.hpp"
#include "app/state_options.hpp"
#include "app/verification.hpp"
#include "checks/blacklist_ptr.hpp"
#include "delivery/callout_client.hpp"
#include "delivery/dns_router.hpp"
#include "delivery/etrn_service.hpp"
#include "delivery/route_watch.hpp"
#include "delivery/scheduler.hpp"
#include "delivery/sender_callout.hpp"
#include "dns/loop_resolver.hpp"
#include "dns/per_loop_resolver.hpp"
#include "dns/resolver.hpp"
#include "mail/cidr.hpp"
#include "metrics/counters.hpp"
#include "monitor/primary_monitor.hpp"
#include "monitor/prober.hpp"
#include "policy/core_checks.hpp"
#include "policy/pipeline_slot.hpp"
#include "policy/shared_sender_probes.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"
#include "smtp/transport.hpp"
#include "state/async_contact_store.hpp"
#include "state/async_offender_store.hpp"
#include "state/async_store.hpp"
#include "state/store.hpp"
#include "trap/handlers.hpp"

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <pthread.h>
#include <set>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace backstop::app {

namespace {

// Until the configuration's pipeline is built, no domain is ours: every RCPT is refused.
std::shared_ptr<const policy::Pipeline> refuse_all() {
  return std::make_shared<const policy::Pipeline>(policy::relay_only({}));
}

std::size_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 1024;
  }
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<std::size_t>(limit.rlim_cur);
}

mail::Result<std::vector<asio::ip::tcp::endpoint>> listen_endpoints(const Config& config) {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& e : config.smtp.listen) {
    std::error_code ec;
    auto address = asio::ip::make_address(e.host, ec);
    if (ec) {
      return mail::make_error("smtp.listen: \"" + e.to_string() + "\" is not an address");
    }
    out.emplace_back(address, e.port);
  }
  return out;
}

// Started as root with `user`: the queue, the state store's files and the control socket go
// to that account, then the whole process does.
mail::Status become_user(const Config& config) {
  if (config.user.empty()) {
    return mail::Ok{};
  }
  auto user = look_up_user(config.user);
  if (!user) {
    return mail::make_error(user.error().message);
  }
  if (::geteuid() != 0) {
    if (::geteuid() == user->uid) {
      return mail::Ok{};
    }
    return mail::make_error("user = \"" + config.user +
                            "\": only a server started as root can change its user");
  }
  const std::string db = config.state.path.string();
  if (auto handed = hand_over(
          {config.queue.dir, db, db + "-wal", db + "-shm", config.control_socket()}, *user);
      !handed) {
    return handed;
  }
  return drop_to(*user);
}

class Runtime {
public:
  explicit Runtime(const Config& config)
      : config_(config),
        log_(make_logger(LogOptions{config.log.level, config.log.format, config.log.output})),
        pipeline_(refuse_all()) {}
  // The sample timer belongs to the delivery loop, which is declared (and destroyed) after it.
  ~Runtime() { sample_timer_.reset(); }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  int run();

private:
  mail::Status open_spool();
  mail::Status start_tls();
  void build_session_options();
  std::size_t session_loop_count() const;
  void create_loops(std::size_t count);
  void start_loops();
  mail::Status make_check_resolver();
  mail::Status start_delivery();
  mail::Status start_verification();
  void start_monitor();
  void primary_changed(const monitor::StateChange& change);
  void start_contacts();
  nlohmann::json flush_cache(const std::string& pattern);
  void forget_valid(const mail::Address& who, const std::string& reply);
  PolicyServices policy_services() {
    return {verify_cache_.get(), callout_.get(), sender_check_,   log_,
            &counters_,          &destinations_, check_services()};
  }
  policy::CheckServices check_services();
  void install_pipeline(const RecipientLists& lists);
  mail::Result<std::vector<smtp::Listener>> listeners(std::vector<asio::ip::tcp::endpoint> smtp);
  admin::ControlServices control_services();
  std::vector<admin::PrimaryDomainView> primary_views() const;
  nlohmann::json current_config_summary();
  dns::ResolverOptions measured_resolver_options();
  void sample_history();
  mail::Status start_http_admin();
  void on_signal(int signal);
  void wait_for_signal();
  void begin_shutdown();
  void wait_for_sessions(std::chrono::steady_clock::time_point deadline);
  void finish_shutdown();
  void reload();
  mail::Status apply_reload();
  nlohmann::json reload_from_control();
  nlohmann::json control(const nlohmann::json& request); // the socket's and HTTP's requests
  void reload_delivery(const Config& next);
  void start_offenders();
  void apply_offender_rules();
  void shutdown();

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  mail::SystemClock clock_;
  metrics::Counters counters_;
  std::int64_t started_unix_ = 0;
  policy::PipelineSlot pipeline_;
  std::unique_ptr<queue::Spool> spool_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<asio::ssl::context> client_tls_;
  smtp::SessionOptions session_options_;
  std::unique_ptr<smtp::ConnectionLimiter> limiter_;
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<std::thread> threads_;
  std::unique_ptr<smtp::Server> server_;
  // [[listener]] traps; before the loops in destruction (their timers live on them)
  trap::TrapServices trap_services_;
  std::vector<std::unique_ptr<smtp::ConnectionHandler>> trap_handlers_;
  admin::ControlServer control_;
  admin::HttpAdmin http_admin_; // [admin] listen
  admin::History history_;      // the status page's samples
  std::unique_ptr<asio::steady_timer> sample_timer_;
  std::unique_ptr<admin::ControlDispatcher> dispatcher_; // the socket's and HTTP's requests
  asio::io_context delivery_loop_{1};
  std::thread delivery_thread_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<dns::Resolver> hop_resolver_;   // resolver_, awaitable from any loop
  std::unique_ptr<dns::Resolver> check_resolver_; // one resolver per session loop
  std::unique_ptr<delivery::DnsRouter> router_;
  std::unique_ptr<delivery::Scheduler> scheduler_;
  std::unique_ptr<delivery::EtrnService> etrn_;
  policy::Destinations destinations_; // where backed-up domains' mail can go, for RCPT
  std::unique_ptr<delivery::RouteWatch> route_watch_;
  // Is each domain's primary up: one notion for callouts, delivery, checks (and admin).
  std::unique_ptr<monitor::PrimaryMonitor> monitor_;
  std::unique_ptr<monitor::Prober> prober_;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<asio::steady_timer> drain_timer_; // on the first loop, as signals_
  bool stopping_ = false;                           // SIGTERM seen (signals_'s loop only)
  bool stopped_ = false;
  std::atomic<bool> exiting_{false}; // the loops are being stopped
  ServiceManager service_;           // systemd notifications and watchdog
  // Recipient verification: the state store runs on its own thread (SQLite blocks).
  asio::io_context state_loop_{1};
  std::thread state_thread_;
  std::unique_ptr<state::Store> store_;
  std::atomic<bool> state_fallback_active_{false};       // Redis failing: the local store answers
  std::unique_ptr<state::AsyncGreylistStore> greylist_;  // CheckServices::greylist
  std::unique_ptr<state::AsyncOffenderStore> offenders_; // CheckServices::offenders
  std::unique_ptr<state::AsyncContactStore> contacts_;   // CheckServices::contacts
  std::unique_ptr<policy::VerifyCache> verify_cache_;
  std::atomic<policy::VerifyCache*> delivery_cache_{nullptr}; // set once verification runs
  std::unique_ptr<delivery::CalloutClient> callout_;
  std::unique_ptr<delivery::SenderCallout> sender_callout_;   // [checks.sender_callout] asks it
  std::unique_ptr<policy::SharedSenderProbes> shared_probes_; // ... through this
  std::shared_ptr<const policy::SenderDomainCheck> sender_check_;
};

void Runtime::install_pipeline(const RecipientLists& lists) {
  auto pipeline = make_pipeline(config_, lists, policy_services());
  std::string order;
  for (const auto& name : pipeline->describe()) {
    order += (order.empty() ? "" : ", ") + name;
  }
  log_->info("checks in order: {} (! = required: allowlists do not skip it)", order);
  pipeline_.set(std::move(pipeline));
}

// What checks share: DNS (awaitable from any session loop), time, who we are.
policy::CheckServices Runtime::check_services() {
  policy::CheckServices s;
  s.resolver = check_resolver_.get();
  s.clock = &clock_;
  s.log = log_;
  s.counters = &counters_;
  s.greylist = greylist_.get();
  s.offenders = offenders_.get();
  s.primary_status = monitor_.get();
  s.contacts = contacts_.get();
  s.hostname = config_.hostname;
  auto identity = std::make_shared<const delivery::LocalIdentity>(local_identity(config_));
  s.is_local_name = [identity](std::string_view name) {
    return identity->names.contains(mail::normalize_domain(name));
  };
  s.is_local_address = [identity](std::string_view text) {
    std::error_code ec;
    const auto address = asio::ip::make_address(std::string(text), ec);
    return !ec && identity->is_local(address);
  };
  for (const auto& name : domain_names(config_)) {
    s.backed_up_domains.insert(name);
  }
  s.sender_prober = shared_probes_.get();
  s.peers = peer_hosts(config_);
  return s;
}

// [smtp] listen, then every [[listener]]: a trap kind gets its handler, a stale SMTP address
// records its contacts.
mail::Result<std::vector<smtp::Listener>>
Runtime::listeners(std::vector<asio::ip::tcp::endpoint> smtp) {
  std::vector<smtp::Listener> out;
  for (auto& e : smtp) {
    std::ostringstream where;
    where << e;
    out.push_back({e, nullptr, {}, &counters_.listener(where.str(), "smtp"), {}});
  }
  auto& t = trap_services_;
  t.hostname = config_.hostname;
  for (auto& loop : loops_) {
    t.loops.push_back(loop.get());
  }
  t.limiter = limiter_.get();
  t.offenders = offenders_.get(); // null without a store: hits are only logged and counted
  t.counters = &counters_;
  t.log = log_;
  t.clock = &clock_;
  const auto ours = domain_names(config_);
  t.our_domains.store(std::make_shared<const trap::Domains>(ours.begin(), ours.end()));
  for (const auto& l : config_.listeners) {
    std::error_code ec;
    const auto address = asio::ip::make_address(l.address.host, ec);
    if (ec) {
      return mail::make_error("listener: \"" + l.address.to_string() + "\" is not an address");
    }
    const asio::ip::tcp::endpoint endpoint(address, l.address.port);
    auto spec = trap_listener(l);
    auto* count = &counters_.listener(l.name.empty() ? l.address.to_string() : l.name, l.kind);
    if (spec.kind == trap::Kind::Smtp) {
      auto notice = spec.stale_after ? trap::stale_smtp_notice(std::move(spec), trap_services_)
                                     : std::function<void(const smtp::Peers&)>{};
      out.push_back({endpoint, nullptr, std::move(notice), count, proxy_settings(l)});
      continue;
    }
    trap_handlers_.push_back(trap::make_handler(std::move(spec), trap_services_));
    out.push_back({endpoint, trap_handlers_.back().get(), {}, count, proxy_settings(l)});
  }
  return out;
}

mail::Status Runtime::open_spool() {
  std::error_code ec;
  std::filesystem::create_directories(config_.queue.dir, ec);
  if (ec) {
    return mail::make_error("queue.dir " + config_.queue.dir.string() + ": " + ec.message());
  }
  queue::SpoolOptions options;
  options.dir = config_.queue.dir;
  options.segment_size = config_.queue.segment_size;
  options.commit_delay = std::chrono::microseconds(config_.queue.commit_delay_us);
  options.spill_threshold = config_.queue.spill_threshold;
  options.on_sync = [counters = &counters_](std::size_t records, auto took) {
    counters->fsync_batch_records.observe(static_cast<double>(records));
    counters->fsync_seconds.observe(std::chrono::duration<double>(took).count());
  };
  auto spool = queue::Spool::open(options);
  if (!spool) {
    return spool.error();
  }
  spool_ = std::move(spool.value());
  log_->info("queue {}: {} messages", config_.queue.dir.string(), spool_->stats().messages);
  return mail::Ok{};
}

mail::Status Runtime::start_tls() {
  if (config_.smtp.tls_certificate.empty()) {
    return mail::Ok{};
  }
  std::string error;
  tls_ = smtp::make_server_tls_context(config_.smtp.tls_certificate, config_.smtp.tls_key, error);
  if (!tls_) {
    return mail::make_error(error);
  }
  return mail::Ok{};
}

void Runtime::build_session_options() {
  auto& o = session_options_;
  o.hostname = config_.hostname;
  o.postmaster = parse_mailbox(config_.postmaster);
  o.limits.max_message_size = config_.smtp.max_message_size;
  o.limits.max_recipients = config_.smtp.max_recipients;
  o.limits.max_errors = config_.smtp.max_errors;
  o.limits.max_data_line = config_.smtp.max_line_length;
  o.limits.reject_bare_line_endings = config_.smtp.reject_bare_line_endings;
  o.limits.hop_count_limit = config_.smtp.hop_count_limit;
  o.limits.greeting_delay = config_.smtp.greeting_delay;
  o.limits.command_timeout = config_.smtp.command_timeout;
  o.limits.data_timeout = config_.smtp.data_timeout;
  o.pipeline = &pipeline_;
  o.spool = spool_.get();
  o.tls = tls_.get();
  o.clock = &clock_;
  o.log = log_;
  o.counters = &counters_;
}

// One session loop per core but one: the committer, the delivery and state loops and the
// kernel's network work need a core too. On 2 cores one loop accepted 5,900 msg/s at 148 us
// of CPU each, two loops 4,900 msg/s at 180 us (they idle and wake more: docs/performance.md).
std::size_t default_session_loops() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 1;
}

// At most 15 characters (the kernel's limit for a thread name).
void name_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.c_str()); }

std::size_t Runtime::session_loop_count() const {
  return config_.smtp.workers != 0 ? config_.smtp.workers : default_session_loops();
}

void Runtime::create_loops(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<asio::io_context>(1));
  }
}

// Checks look names up on their session's own loop; other callers hop to the delivery loop.
mail::Status Runtime::make_check_resolver() {
  hop_resolver_ = std::make_unique<dns::LoopResolver>(*resolver_, delivery_loop_.get_executor());
  std::vector<dns::PerLoopResolver::Loop> per_loop;
  for (auto& loop : loops_) {
    auto resolver =
        dns::Resolver::create(loop->get_executor(), measured_resolver_options(), clock_);
    if (!resolver) {
      return resolver.error();
    }
    per_loop.push_back({loop->get_executor(), std::move(resolver.value())});
  }
  check_resolver_ = std::make_unique<dns::PerLoopResolver>(std::move(per_loop), *hop_resolver_);
  return mail::Ok{};
}

void Runtime::start_loops() {
  for (auto& loop : loops_) {
    threads_.emplace_back([ctx = loop.get(), n = threads_.size()] {
      name_thread("bs-smtp-" + std::to_string(n)); // top -H and perf tell the threads apart
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
}

delivery::SchedulerOptions scheduler_options(const Config& config) {
  delivery::SchedulerOptions o;
  o.hostname = config.hostname;
  o.retry = {config.delivery.retry_initial, config.delivery.retry_max,
             config.delivery.delay_warning, config.delivery.max_queue_lifetime};
  o.bounce = config.delivery.bounce;
  o.max_connections = config.delivery.max_connections;
  o.max_connections_per_destination = config.delivery.max_connections_per_destination;
  o.client.helo_name = config.hostname;
  o.client.connect_timeout = config.delivery.connect_timeout;
  o.client.command_timeout = config.delivery.command_timeout;
  o.client.greeting_timeout = config.delivery.command_timeout;
  o.client.data_timeout = config.delivery.data_timeout;
  o.client.source_addresses = source_addresses(config);
  o.domain_tls = domain_tls(config);
  return o;
}

mail::Status Runtime::start_delivery() {
  auto resolver =
      dns::Resolver::create(delivery_loop_.get_executor(), measured_resolver_options(), clock_);
  if (!resolver) {
    return resolver.error();
  }
  resolver_ = std::move(resolver.value());
  const auto by_mx = routed_by_mx(config_);
  destinations_.track({by_mx.begin(), by_mx.end()});
  router_ = make_router(config_, *resolver_, log_, &destinations_);
  router_->set_decoys(decoys(config_)); // the delivery loop does not run yet
  start_monitor();
  route_watch_ = std::make_unique<delivery::RouteWatch>(
      delivery_loop_, *router_, destinations_, config_.delivery.route_check_interval, log_);
  route_watch_->set_domains(by_mx);
  route_watch_->start();
  client_tls_ = smtp::make_client_tls_context();
  auto options = scheduler_options(config_);
  options.client.tls_context = client_tls_.get();
  options.counters = &counters_;
  options.status = monitor_.get();
  options.on_unknown_recipient = [this](const mail::Address& who, const std::string& reply) {
    forget_valid(who, reply);
  };
  scheduler_ = std::make_unique<delivery::Scheduler>(delivery_loop_, *spool_, *router_,
                                                     std::move(options), clock_, log_);
  std::vector<mail::Cidr> etrn_clients;
  for (const auto& c : config_.smtp.etrn_clients) {
    etrn_clients.push_back(*mail::Cidr::parse(c));
  }
  etrn_ = std::make_unique<delivery::EtrnService>(*scheduler_, std::move(etrn_clients),
                                                  domain_names(config_), monitor_.get());
  session_options_.etrn = etrn_.get();
  spool_->set_on_committed(
      [this](std::vector<queue::QueuedMessage> m) { scheduler_->on_committed(std::move(m)); });
  scheduler_->start();
  prober_->start();
  delivery_thread_ = std::thread([this] {
    name_thread("bs-delivery");
    auto guard = asio::make_work_guard(delivery_loop_);
    delivery_loop_.run();
  });
  return mail::Ok{};
}

// The monitor and its prober; the state changes go to the log, the store's history, and a
// primary that is back gets what waits for it at once.
void Runtime::start_monitor() {
  monitor_ = std::make_unique<monitor::PrimaryMonitor>(
      monitor_options(config_), clock_,
      [this](const monitor::StateChange& change) { primary_changed(change); });
  monitor_->set_domains(decoys(config_));
  prober_ = std::make_unique<monitor::Prober>(delivery_loop_, *router_, *monitor_, config_.hostname,
                                              log_);
  const auto names = domain_names(config_);
  prober_->set_domains({names.begin(), names.end()});
}

// Called on whichever thread saw the evidence (delivery loop, a callout, a probe).
void Runtime::primary_changed(const monitor::StateChange& change) {
  log_->info("monitor: {} primary {} is {} (was {}): {}", change.domain, change.host,
             policy::to_string(change.to), policy::to_string(change.from), change.reason);
  // Posted even before the store is open (the first probes and deliveries may come first):
  // the store's thread starts after store_ is set, and runs what was posted in order.
  state::PrimaryStatusChange row{
      change.domain, change.host,  policy::to_string(change.from), policy::to_string(change.to),
      change.at,     change.reason};
  asio::post(state_loop_, [this, row, keep = config_.monitor.history.count()] {
    if (!store_) {
      return;
    }
    if (auto written = store_->primary_status().record_change(row, keep); !written) {
      log_->warn("monitor: history not written: {}", written.error().message);
    }
  });
  // A probe found it back: deliveries need not wait for their retry time. (A delivery that
  // succeeds already takes everything waiting with it.)
  const bool probed = change.reason.rfind("probe:", 0) == 0;
  if (probed && change.from == policy::PrimaryState::Down &&
      change.to == policy::PrimaryState::Up && scheduler_) {
    scheduler_->request_flush(change.domain); // it answers again: what waits for it goes
  }
}

// MX contacts (mx_contacts records, skipped_primary reads): on the store's thread too.
void Runtime::start_contacts() {
  contacts_ = std::make_unique<state::AsyncContactStore>(
      store_->contacts(), state_loop_.get_executor(), config_.state.contacts_keep.count(), 10000,
      std::chrono::milliseconds{100}); // one store transaction per 100 ms of connections
  contacts_->set_report([log = log_](const state::Contact& c, const state::Status& status) {
    log->warn("mx_contacts: {} not recorded: {}", c.address, status.error().message);
  });
  contacts_->start_purging(clock_, std::chrono::hours(1), [log = log_](const auto& purged) {
    if (!purged) {
      log->warn("mx_contacts: {}", purged.error().message);
    }
  });
}

mail::Status Runtime::start_verification() {
  if (auto made = make_check_resolver(); !made) {
    return made;
  }
  auto opening = store_options(config_.state);
  // Redis: each outage and each recovery once in the log, every failed call counted.
  opening.health = [log = log_](bool up, const std::string& why) {
    up ? log->info("state: redis is up: {}", why) : log->error("state: redis is down: {}", why);
  };
  opening.error = [counters = &counters_] { counters->add(metrics::Counter::StateStoreErrors); };
  opening.fallback =
      fallback_reports(log_, &counters_, &state_fallback_active_, config_.state.path);
  auto store = state::open_store(opening);
  if (!store) {
    return store.error();
  }
  store_ = std::move(store.value());
  state_thread_ = std::thread([this] {
    name_thread("bs-state");
    auto guard = asio::make_work_guard(state_loop_);
    state_loop_.run();
  });
  verify_cache_ = std::make_unique<policy::VerifyCache>(
      &store_->verify(), state_loop_.get_executor(), clock_, cache_options(config_), log_);
  verify_cache_->start_purging(std::chrono::hours(1));
  greylist_ =
      std::make_unique<state::AsyncGreylistStore>(store_->greylist(), state_loop_.get_executor());
  greylist_->start_purging(clock_, std::chrono::hours(1), [log = log_](const auto& purged) {
    if (!purged) {
      log->warn("greylist: {}", purged.error().message);
    }
  });
  start_offenders();
  start_contacts();
  delivery_cache_ = verify_cache_.get();
  auto options = callout_options(config_);
  options.client.tls_context = client_tls_.get();
  options.counters = &counters_;
  options.status = monitor_.get();
  callout_ =
      std::make_unique<delivery::CalloutClient>(delivery_loop_, *router_, std::move(options), log_);
  sender_callout_ = std::make_unique<delivery::SenderCallout>(
      delivery_loop_, *router_, clock_,
      delivery::SenderCalloutOptions{config_.hostname, client_tls_.get(),
                                     source_addresses(config_)},
      domain_names(config_), log_);
  shared_probes_ = std::make_unique<policy::SharedSenderProbes>(*sender_callout_);
  sender_check_ = std::make_shared<const policy::SenderDomainCheck>(*check_resolver_);
  auto lists = load_recipient_lists(config_);
  if (!lists) {
    return lists.error();
  }
  install_pipeline(lists.value());
  return mail::Ok{};
}

// Offenses and the blacklist: on the state store's thread, with [offenders]'s rules; each
// new listing and each store error is logged there, expired entries purged hourly.
void Runtime::start_offenders() {
  offenders_ =
      std::make_unique<state::AsyncOffenderStore>(store_->offenders(), state_loop_.get_executor());
  apply_offender_rules();
  // A trap does not know the client's PTR name: asked here, so allow_ptr_suffixes hold.
  offenders_->set_ptr_lookup([resolver = check_resolver_.get()](std::string address) {
    return checks::confirmed_ptr_name(resolver, std::move(address));
  });
  offenders_->set_report([log = log_](const state::Offense& offense, const auto& outcome) {
    if (!outcome) {
      log->warn("offenders: cannot record the {} offense of {}: {}", state::to_string(offense.kind),
                offense.address, outcome.error().message);
    } else if (auto words = new_listing_words(outcome.value()); !words.empty()) {
      log->warn("{}", words);
    }
  });
  offenders_->start_purging(clock_, std::chrono::hours(1), [log = log_](const auto& purged) {
    if (!purged) {
      log->warn("offenders: {}", purged.error().message);
    }
  });
}

void Runtime::apply_offender_rules() {
  if (offenders_) {
    offenders_->set_rules(blacklist_rules(config_.offenders));
    offenders_->set_allowlist(offender_allowlist(config_));
  }
}

nlohmann::json Runtime::flush_cache(const std::string& typed) {
  const std::string pattern = policy::normalize_cache_pattern(typed);
  // On the store's thread, after the cache writes already queued there, so none of them
  // brings a flushed answer back.
  std::promise<state::Result<std::size_t>> done;
  auto result = done.get_future();
  asio::post(state_loop_,
             [this, &done, &pattern] { done.set_value(store_->verify().erase_verify(pattern)); });
  auto erased = result.get();
  verify_cache_->forget(pattern); // after the store: a miss now cannot find the old answer
  if (!erased) {
    return nlohmann::json{{"ok", false}, {"error", erased.error().message}};
  }
  log_->info("verify cache: {} entries flushed ({})", erased.value(),
             pattern.empty() ? "all" : pattern);
  return nlohmann::json{{"ok", true}, {"flushed", erased.value()}};
}

// The primary refused at delivery what the cache called valid (a primary that treats the
// null sender of callouts differently, a user removed since): the next RCPT is refused.
void Runtime::forget_valid(const mail::Address& who, const std::string& reply) {
  policy::VerifyCache* cache = delivery_cache_.load();
  if (cache == nullptr) {
    return;
  }
  cache->remember(policy::cache_key(who), state::VerifyResult::Invalid,
                  "refused at delivery: " + reply);
  log_->info("verify cache: <{}> is now unknown (refused at delivery: {})", who.to_string(), reply);
}

// What the admin side may use; every request comes through the one dispatcher.
admin::ControlServices Runtime::control_services() {
  admin::ControlServices services;
  services.spool = spool_.get();
  services.counters = &counters_;
  services.clock = &clock_;
  services.started_unix = started_unix_;
  services.store = store_.get();
  services.history = &history_;
  services.queue.flush = [this](const std::string& domain) {
    const long waiting = scheduler_->flush(domain);
    if (waiting < 0) {
      return nlohmann::json{{"ok", false}, {"error", "no mail waits for " + domain}};
    }
    return nlohmann::json{{"ok", true}, {"domain", domain}, {"messages", waiting}};
  };
  services.queue.modify = [this](const std::string& command, mail::QueueId id) {
    return scheduler_->modify(command, id);
  };
  services.flush_cache = [this](const std::string& pattern) { return flush_cache(pattern); };
  services.primaries = [this] { return primary_views(); };
  services.config_summary = [this] { return current_config_summary(); };
  services.gauges = [this]() -> std::vector<admin::Gauge> {
    return {{"event_loops", "SMTP event loops.", static_cast<double>(loops_.size())},
            {"connections_current", "Connections open now, SMTP and trap listeners.",
             static_cast<double>(limiter_->active())},
            {"state_fallback_active",
             "1 while Redis fails and the local state store answers ([state] backend redis).",
             state_fallback_active_.load(std::memory_order_relaxed) ? 1.0 : 0.0}};
  };
  return services;
}

// The monitor's view of every backed-up domain and its more-preferred hosts.
std::vector<admin::PrimaryDomainView> Runtime::primary_views() const {
  std::vector<admin::PrimaryDomainView> out;
  for (const auto& name : monitor_->domain_names()) {
    const auto view = monitor_->domain(name);
    out.push_back({name, policy::to_string(view.state), view.reason, {}});
  }
  for (const auto& h : monitor_->hosts()) {
    for (auto& d : out) {
      if (d.domain == h.domain) {
        d.hosts.push_back({h.host, policy::to_string(h.state), h.failures, h.successes, h.since,
                           h.checked_at, h.reason});
      }
    }
  }
  return out;
}

// Read on the loop that runs reloads, so a summary never sees half of one; null when that
// loop does not answer within 5 s (it is stopping).
nlohmann::json Runtime::current_config_summary() {
  auto done = std::make_shared<std::promise<nlohmann::json>>();
  auto summary = done->get_future();
  asio::post(*loops_.front(), [this, done] { done->set_value(config_summary(config_)); });
  if (summary.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return nullptr;
  }
  return summary.get();
}

// Every query a resolver sends is timed into the DNS latency histogram.
dns::ResolverOptions Runtime::measured_resolver_options() {
  auto options = resolver_options(config_);
  options.on_query = [histogram = &counters_.dns_query_seconds](auto took) {
    histogram->observe(std::chrono::duration<double>(took).count());
  };
  return options;
}

// On the delivery loop, every [admin] sample_interval, and once at start.
void Runtime::sample_history() {
  history_.add(clock_.now_unix(), spool_->stats().messages,
               counters_.value(metrics::Counter::MessagesAccepted), counters_.refusals());
  sample_timer_->expires_after(config_.admin.sample_interval);
  sample_timer_->async_wait([this](std::error_code ec) {
    if (!ec) {
      sample_history();
    }
  });
}

mail::Status Runtime::start_http_admin() {
  if (!config_.admin.listen) {
    return mail::Ok{};
  }
  sample_timer_ = std::make_unique<asio::steady_timer>(delivery_loop_);
  asio::post(delivery_loop_, [this] { sample_history(); });
  admin::HttpAdminOptions options{config_.admin.listen->host, config_.admin.listen->port,
                                  config_.admin.token};
  auto started = http_admin_.start(
      options, {[this](const nlohmann::json& req) { return dispatcher_->handle(req); },
                [this] { return dispatcher_->metrics(); }});
  if (started) {
    log_->info("admin HTTP on {}:{}", options.host, http_admin_.port());
  }
  return started;
}

void Runtime::reload() {
  service_.reloading();
  apply_reload();
  service_.ready("running");
}

// Validated first: a file with errors changes nothing. Then every option is either taken
// over live (reload_diff.cpp lists which) or named in the log as needing a restart.
mail::Status Runtime::apply_reload() {
  auto loaded = load_config(config_.source);
  if (auto* errors = std::get_if<ConfigErrors>(&loaded)) {
    for (const auto& e : errors->messages) {
      log_->error("reload: {}", e);
    }
    log_->error("reload: configuration has errors; keeping the running one");
    return mail::make_error(errors->messages.empty() ? "configuration has errors"
                                                     : errors->messages.front());
  }
  // Sessions that are open keep the pipeline (domains, rules, lists) they started with.
  auto next = std::get<Config>(std::move(loaded));
  auto lists = load_recipient_lists(next);
  if (!lists) {
    log_->error("reload: {}; keeping the running configuration", lists.error().message);
    return lists.error();
  }
  const auto plan = take_live_options(config_, next);
  for (const auto& key : plan.restart) {
    log_->warn("reload: {} changed; ignored until restart", key);
  }
  for (const auto& key : plan.live) {
    log_->info("reload: {} changed; applied", key);
  }
  log_->set_level(spdlog::level::from_str(config_.log.level));
  reload_delivery(config_);
  apply_offender_rules();
  contacts_->set_keep(config_.state.contacts_keep.count());
  install_pipeline(lists.value());
  std::size_t listed = 0;
  for (const auto& [domain, list] : lists.value()) {
    listed += list->size();
  }
  log_->info("reload: {} domains, {} recipient list entries", config_.domains.size(), listed);
  return mail::Ok{};
}

// `backstop reload` (control socket thread): the reload runs where SIGHUP's does, on the
// signal loop, and the answer carries the first error of a file that was refused.
nlohmann::json Runtime::reload_from_control() {
  auto done = std::make_shared<std::promise<mail::Status>>();
  auto result = done->get_future();
  asio::post(*loops_.front(), [this, done] {
    if (stopping_) {
      done->set_value(mail::make_error("the server is shutting down"));
      return;
    }
    service_.reloading();
    auto status = apply_reload();
    service_.ready("running");
    done->set_value(std::move(status));
  });
  // A shutdown stops the loop before it runs the reload: never wait for that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (exiting_ || std::chrono::steady_clock::now() > deadline) {
      return {{"ok", false}, {"error", "the reload did not run (shutting down or stuck)"}};
    }
  }
  auto status = result.get();
  if (!status) {
    return {{"ok", false}, {"error", status.error().message}};
  }
  return {{"ok", true}};
}

nlohmann::json Runtime::control(const nlohmann::json& request) {
  if (request.value("command", "") == "reload") {
    return reload_from_control(); // not serialised with the others: it waits for the signal loop
  }
  return dispatcher_->handle(request);
}

// Every per-domain behaviour of delivery follows the new domain list: routes, ETRN, the
// domains watched for "nowhere to deliver".
void Runtime::reload_delivery(const Config& next) {
  etrn_->set_domains(domain_names(next));
  const auto ours = domain_names(next); // what a trap hit must name to count
  trap_services_.our_domains.store(std::make_shared<const trap::Domains>(ours.begin(), ours.end()));
  sender_callout_->set_backed_up_domains(domain_names(next));
  const auto by_mx = routed_by_mx(next);
  destinations_.track({by_mx.begin(), by_mx.end()});
  asio::post(delivery_loop_, [router = router_.get(), routes = primaries(next)]() mutable {
    router->set_primaries(std::move(routes));
  });
  route_watch_->set_domains(by_mx);
  monitor_->set_domains(decoys(next));
  asio::post(delivery_loop_, [router = router_.get(), d = decoys(next)]() mutable {
    router->set_decoys(std::move(d));
  });
  const auto names = domain_names(next);
  prober_->set_domains({names.begin(), names.end()});
  scheduler_->set_domain_tls(domain_tls(next));
  if (callout_) {
    callout_->set_domain_tls(domain_tls(next));
  }
}

void Runtime::wait_for_signal() {
  signals_->async_wait([this](std::error_code ec, int s) {
    if (!ec) {
      on_signal(s);
    }
  });
}

void Runtime::on_signal(int signal) {
  if (signal == SIGHUP) {
    if (!stopping_) {
      reload();
    }
    wait_for_signal();
    return;
  }
  if (stopping_) {
    log_->info("signal {} again: stopping now", signal);
    finish_shutdown();
    return;
  }
  log_->info("signal {}: shutting down", signal);
  begin_shutdown();
  wait_for_signal(); // a second SIGTERM cuts the grace period short
}

// Graceful: no new connections, open sessions end at their next command (a message being
// received is finished and acknowledged first), for at most [smtp] shutdown_timeout.
void Runtime::begin_shutdown() {
  stopping_ = true;
  service_.stopping();
  service_.stop_watchdog();
  server_->drain();
  const auto grace = config_.smtp.shutdown_timeout;
  log_->info("shutdown: listeners closed; {} open sessions get up to {}s to finish",
             server_->open_sessions(), grace.count());
  drain_timer_ = std::make_unique<asio::steady_timer>(*loops_.front());
  wait_for_sessions(std::chrono::steady_clock::now() + grace);
}

void Runtime::wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
  const auto now = std::chrono::steady_clock::now();
  if (server_->open_sessions() == 0 || now >= deadline) {
    finish_shutdown();
    return;
  }
  drain_timer_->expires_after(
      std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50), deadline - now));
  drain_timer_->async_wait([this, deadline](std::error_code ec) {
    if (!ec) {
      wait_for_sessions(deadline);
    }
  });
}

// What is still open is cut; deliveries in flight stop and are retried from the spool at the
// next start (nothing acknowledged is lost: a 250 was only sent after the fdatasync).
void Runtime::finish_shutdown() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (drain_timer_) {
    drain_timer_->cancel();
  }
  const std::size_t left = server_->open_sessions();
  if (left > 0) {
    log_->warn("shutdown: closing {} sessions still open", left);
  }
  shutdown();
}

void Runtime::shutdown() {
  exiting_ = true;
  service_.stopping();
  service_.stop_watchdog();
  if (server_) {
    server_->stop();
  }
  for (auto& loop : loops_) {
    loop->stop();
  }
  if (scheduler_) {
    scheduler_->stop();
  }
  if (route_watch_) {
    route_watch_->stop();
  }
  if (prober_) {
    prober_->stop();
  }
  if (callout_) {
    callout_->stop();
  }
  delivery_loop_.stop();
  // Cache writes already posted still reach the store before its thread ends.
  asio::post(state_loop_, [this] { state_loop_.stop(); });
}

int Runtime::run() {
  started_unix_ = clock_.now_unix();
  // First: every thread started below inherits it.
  if (auto set = use_cpu_scheduling(config_.scheduling); !set) {
    log_->warn("{}; the threads keep the default policy", set.error().message);
  }
  const std::size_t descriptors = raise_descriptor_limit();
  const std::size_t reserved = reserved_descriptors(config_, session_loop_count());
  if (config_.smtp.max_connections + reserved > descriptors) {
    const std::size_t allowed = descriptors > reserved ? descriptors - reserved : 1;
    log_->warn("smtp.max_connections {} does not fit the open-files limit {} ({} kept for "
               "backstop's own files, deliveries and callouts); using {}",
               config_.smtp.max_connections, descriptors, reserved, allowed);
    config_.smtp.max_connections = allowed;
  }
  limiter_ = std::make_unique<smtp::ConnectionLimiter>(
      config_.smtp.max_connections, config_.smtp.max_connections_per_ip,
      smtp::NetworkLimit{config_.smtp.max_connections_per_network,
                         static_cast<unsigned>(config_.smtp.network_prefix_ipv4),
                         static_cast<unsigned>(config_.smtp.network_prefix_ipv6)});
  for (auto status : {open_spool(), start_tls()}) {
    if (!status) {
      log_->critical("{}", status.error().message);
      return 1;
    }
  }
  build_session_options();
  create_loops(session_loop_count());
  if (auto started = start_delivery(); !started) {
    log_->critical("{}", started.error().message);
    return 1;
  }
  if (auto started = start_verification(); !started) {
    log_->critical("{}", started.error().message);
    shutdown();
    delivery_thread_.join();
    if (state_thread_.joinable()) {
      state_thread_.join();
    }
    return 1;
  }
  auto endpoints = listen_endpoints(config_);
  if (!endpoints) {
    log_->critical("{}", endpoints.error().message);
    return 1;
  }
  start_loops();
  std::vector<asio::io_context*> raw;
  for (auto& l : loops_) {
    raw.push_back(l.get());
  }
  server_ = std::make_unique<smtp::Server>(session_options_, *limiter_, raw);
  auto all = listeners(std::move(*endpoints));
  auto listening = all ? server_->listen(all.value()) : mail::Status(all.error());
  dispatcher_ = std::make_unique<admin::ControlDispatcher>(control_services());
  auto controlled = control_.start(config_.control_socket(),
                                   [this](const nlohmann::json& req) { return control(req); });
  auto admin_http = start_http_admin();
  auto unprivileged = become_user(config_);
  for (const auto& status : {listening, controlled, admin_http, unprivileged}) {
    if (!status) {
      log_->critical("{}", status.error().message);
      shutdown();
      for (auto& t : threads_) {
        t.join();
      }
      delivery_thread_.join();
      state_thread_.join();
      return 1;
    }
  }
  for (const auto& e : server_->bound()) {
    std::ostringstream text;
    text << e;
    log_->info("listening on {}", text.str());
  }
  signals_ = std::make_unique<asio::signal_set>(*loops_.front(), SIGINT, SIGTERM, SIGHUP);
  wait_for_signal();
  log_->info("backstop started: hostname {}, {} domains, {} event loops{}", config_.hostname,
             config_.domains.size(), loops_.size(),
             config_.user.empty() ? "" : ", running as " + config_.user);
  std::vector<asio::io_context*> watched = raw;
  watched.push_back(&state_loop_);
  service_.start_watchdog(delivery_loop_, watched);
  service_.ready("running");
  for (auto& t : threads_) {
    t.join();
  }
  delivery_thread_.join();
  state_thread_.join();
  control_.stop();
  http_admin_.stop();
  spool_->close();
  log_->info("backstop stopped");
  return 0;
}

} // namespace

int serve(const Config& config) {
  Runtime runtime(config);
  return runtime.run();
}

} // namespace backstop::app
