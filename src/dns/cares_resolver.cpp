// cares_resolver: Resolver on c-ares. c-ares tells us (socket state callback) which sockets
// it wants watched; each gets an Asio descriptor waiting for readability/writability, and a
// timer follows ares_timeout(). All of it runs on the resolver's event loop. c-ares parses
// the DNS wire format; we only map its results and cache them.
#include "dns/answer_ttl.hpp"
#include "dns/resolver.hpp"
#include "dns/reverse_name.hpp"
#include "dns/special_use.hpp"
#include "mail/address.hpp"

#include <algorithm>
#include <ares.h>
#include <arpa/nameser.h>
#include <asio/experimental/as_tuple.hpp>
#include <cstring>
#include <map>
#include <mutex>
#include <netdb.h>

namespace backstop::dns {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// c-ares needs one global init per process (it is reference counted inside c-ares).
struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
};

Status status_of(int ares_status) {
  switch (ares_status) {
  case ARES_SUCCESS:
    return Status::Found;
  case ARES_ENODATA:
    return Status::NoData;
  case ARES_ENOTFOUND:
    return Status::NxDomain;
  default:
    return Status::TempFail;
  }
}

struct RawAnswer {
  int status = ARES_ETIMEOUT;
  std::vector<unsigned char> bytes;
};

class CaresResolver final : public Resolver {
public:
  CaresResolver(asio::any_io_executor executor, ResolverOptions options, const mail::Clock& clock)
      : executor_(executor), options_(std::move(options)), clock_(clock), timer_(executor) {}
  ~CaresResolver() override;

  mail::Status init();
  asio::awaitable<MxAnswer> mx(std::string domain) override;
  asio::awaitable<AddressAnswer> addresses(std::string host) override;
  asio::awaitable<AddressAnswer> a(std::string host) override;
  asio::awaitable<AddressAnswer> aaaa(std::string host) override;
  asio::awaitable<TextAnswer> txt(std::string name) override;
  asio::awaitable<NameAnswer> ptr(asio::ip::address address) override;
  std::size_t remembered() const override {
    return mx_cache_.size() + address_cache_.size() + a_cache_.size() + aaaa_cache_.size() +
           txt_cache_.size() + ptr_cache_.size();
  }

private:
  struct Watch {
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    bool read = false;
    bool write = false;
    bool reading = false;
    bool writing = false;
  };
  template <typename Answer> struct CacheEntry {
    Answer answer;
    std::chrono::system_clock::time_point expires;
  };
  // A question on its way: later askers of the same name wait for its answer instead of
  // sending their own (a burst of sessions from one domain, or all of them while the
  // resolver is down, costs one query and one wait).
  template <typename Answer> struct Flight {
    explicit Flight(asio::any_io_executor ex) : landed(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer landed;
    Answer answer;
    bool done = false;
  };
  template <typename Answer> using Flights = std::map<std::string, std::shared_ptr<Flight<Answer>>>;
  // Lands a flight when its asker's scope ends, even by an exception (with the default
  // answer, a temporary failure), so no waiter is left behind.
  template <typename Answer> struct Landing {
    CaresResolver& resolver;
    Flights<Answer>& flights;
    std::string name;
    Answer answer{};
    ~Landing() { resolver.land(flights, name, answer); }
  };

  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
  void watch(ares_socket_t fd);
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void rearm_timer();
  asio::awaitable<RawAnswer> query(const std::string& name, int type);
  MxAnswer parse_mx(const RawAnswer& raw, std::chrono::seconds& ttl) const;
  AddressAnswer parse_addresses(const RawAnswer& raw, int type, std::chrono::seconds& ttl) const;
  TextAnswer parse_txt(const RawAnswer& raw, std::chrono::seconds& ttl) const;
  NameAnswer parse_ptr(const RawAnswer& raw, std::chrono::seconds& ttl) const;
  std::chrono::seconds bounded(std::int64_t record_ttl) const;
  template <typename Answer>
  void remember(std::map<std::string, CacheEntry<Answer>>& cache, const std::string& name,
                const Answer& answer, std::chrono::seconds ttl);
  template <typename Answer>
  static asio::awaitable<Answer> wait_for(std::shared_ptr<Flight<Answer>> flight);
  template <typename Answer>
  void land(Flights<Answer>& flights, const std::string& name, const Answer& answer);
  asio::awaitable<MxAnswer> fetch_mx(std::string domain);
  asio::awaitable<AddressAnswer> fetch_addresses(std::string host);
  asio::awaitable<AddressAnswer> fetch_a(std::string host);
  asio::awaitable<AddressAnswer> fetch_aaaa(std::string host);
  asio::awaitable<AddressAnswer> fetch_family(std::string host, int type);
  asio::awaitable<TextAnswer> fetch_txt(std::string name);
  asio::awaitable<NameAnswer> fetch_ptr(std::string name);
  template <typename Answer> using Fetch = asio::awaitable<Answer> (CaresResolver::*)(std::string);
  template <typename Answer>
  asio::awaitable<Answer> lookup(std::map<std::string, CacheEntry<Answer>>& cache,
                                 Flights<Answer>& flights, std::string name, Fetch<Answer> fetch);

  asio::any_io_executor executor_;
  ResolverOptions options_;
  const mail::Clock& clock_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, Watch> watches_;
  asio::steady_timer timer_;
  std::map<std::string, CacheEntry<MxAnswer>> mx_cache_;
  std::map<std::string, CacheEntry<AddressAnswer>> address_cache_;
  std::map<std::string, CacheEntry<AddressAnswer>> a_cache_;
  std::map<std::string, CacheEntry<AddressAnswer>> aaaa_cache_;
  std::map<std::string, CacheEntry<TextAnswer>> txt_cache_;
  std::map<std::string, CacheEntry<NameAnswer>> ptr_cache_;
  std::uint64_t remembered_ = 0; // answers stored; every 1024th sweeps out the expired
  Flights<MxAnswer> mx_flights_;
  Flights<AddressAnswer> address_flights_;
  Flights<AddressAnswer> a_flights_;
  Flights<AddressAnswer> aaaa_flights_;
  Flights<TextAnswer> txt_flights_;
  Flights<NameAnswer> ptr_flights_;
};

CaresResolver::~CaresResolver() {
  for (auto& [fd, w] : watches_) {
    w.descriptor->release(); // c-ares owns and closes its sockets
  }
  watches_.clear();
  if (channel_ != nullptr) {
    ares_destroy(channel_);
  }
}

mail::Status CaresResolver::init() {
  static LibraryInit library; // c-ares' own process-wide init, done once
  ares_options opts{};
  opts.sock_state_cb = &CaresResolver::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(options_.timeout.count());
  opts.tries = options_.tries;
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  if (int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
    return mail::make_error(std::string("DNS resolver: ") + ares_strerror(rc));
  }
  if (!options_.servers.empty()) {
    std::string csv;
    for (const auto& s : options_.servers) {
      csv += (csv.empty() ? "" : ",") + s;
    }
    if (int rc = ares_set_servers_ports_csv(channel_, csv.c_str()); rc != ARES_SUCCESS) {
      return mail::make_error("dns.servers \"" + csv + "\": " + ares_strerror(rc));
    }
  }
  return mail::Ok{};
}

void CaresResolver::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<CaresResolver*>(data);
  if (!readable && !writable) {
    auto it = self->watches_.find(fd);
    if (it != self->watches_.end()) {
      it->second.descriptor->cancel();
      it->second.descriptor->release();
      self->watches_.erase(it);
    }
    return;
  }
  auto& w = self->watches_[fd];
  if (!w.descriptor) {
    w.descriptor = std::make_unique<asio::posix::stream_descriptor>(self->executor_, fd);
  }
  w.read = readable != 0;
  w.write = writable != 0;
  self->watch(fd);
}

void CaresResolver::watch(ares_socket_t fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) {
    return;
  }
  Watch& w = it->second;
  if (w.read && !w.reading) {
    w.reading = true;
    w.descriptor->async_wait(asio::posix::stream_descriptor::wait_read,
                             [this, fd](std::error_code ec) {
                               if (ec == asio::error::operation_aborted) {
                                 return; // released: the watch, maybe the resolver, is gone
                               }
                               auto it = watches_.find(fd);
                               if (it != watches_.end()) {
                                 it->second.reading = false;
                               }
                               if (!ec) {
                                 process(fd, ARES_SOCKET_BAD);
                                 watch(fd);
                               }
                             });
  }
  if (w.write && !w.writing) {
    w.writing = true;
    w.descriptor->async_wait(asio::posix::stream_descriptor::wait_write,
                             [this, fd](std::error_code ec) {
                               if (ec == asio::error::operation_aborted) {
                                 return; // released: the watch, maybe the resolver, is gone
                               }
                               auto it = watches_.find(fd);
                               if (it != watches_.end()) {
                                 it->second.writing = false;
                               }
                               if (!ec) {
                                 process(ARES_SOCKET_BAD, fd);
                                 watch(fd);
                               }
                             });
  }
}

void CaresResolver::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  rearm_timer();
}

void CaresResolver::rearm_timer() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) {
      process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
  });
}

asio::awaitable<RawAnswer> CaresResolver::query(const std::string& name, int type) {
  struct Pending {
    RawAnswer answer;
    asio::steady_timer done;
    bool finished = false;
    explicit Pending(asio::any_io_executor ex) : done(ex) {}
  };
  auto pending = std::make_shared<Pending>(executor_);
  pending->done.expires_at(asio::steady_timer::time_point::max());
  auto* holder = new std::shared_ptr<Pending>(pending); // NOLINT: c-ares takes a void*
  ares_query(
      channel_, name.c_str(), ns_c_in, type,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<std::shared_ptr<Pending>> p(static_cast<std::shared_ptr<Pending>*>(arg));
        (*p)->answer.status = status;
        if (abuf != nullptr && alen > 0) {
          (*p)->answer.bytes.assign(abuf, abuf + alen);
        }
        (*p)->finished = true;
        (*p)->done.cancel();
      },
      holder);
  rearm_timer();
  if (!pending->finished) {
    co_await pending->done.async_wait(use_tuple);
  }
  co_return pending->answer;
}

std::chrono::seconds CaresResolver::bounded(std::int64_t record_ttl) const {
  return std::clamp(std::chrono::seconds(record_ttl), options_.min_ttl, options_.max_ttl);
}

// Every outcome is remembered: a temporary failure only briefly, the others as DNS says.
template <typename Answer>
void CaresResolver::remember(std::map<std::string, CacheEntry<Answer>>& cache,
                             const std::string& name, const Answer& answer,
                             std::chrono::seconds ttl) {
  if (answer.status == Status::TempFail) {
    ttl = options_.temporary_failure_ttl;
  }
  const auto now = clock_.now();
  if (ttl.count() > 0) {
    cache[name] = {answer, now + ttl};
  } else {
    cache.erase(name);
  }
  // Senders choose the names (random domains, each NXDOMAIN): expired ones must not pile up.
  if (++remembered_ % 1024 == 0) {
    std::erase_if(cache, [now](const auto& entry) { return entry.second.expires <= now; });
  }
}

MxAnswer CaresResolver::parse_mx(const RawAnswer& raw, std::chrono::seconds& ttl) const {
  MxAnswer answer;
  answer.status = status_of(raw.status);
  if (answer.status != Status::Found) {
    return answer;
  }
  ares_mx_reply* reply = nullptr;
  const int rc = ares_parse_mx_reply(raw.bytes.data(), static_cast<int>(raw.bytes.size()), &reply);
  if (rc != ARES_SUCCESS) {
    answer.status = status_of(rc);
    return answer;
  }
  for (auto* r = reply; r != nullptr; r = r->next) {
    answer.records.push_back({r->priority, mail::normalize_domain(r->host)});
  }
  ares_free_data(reply);
  // c-ares drops the TTLs; a message it parsed has one, the minimum is the safe fallback.
  const auto record_ttl = min_answer_ttl(raw.bytes);
  ttl = bounded(record_ttl ? static_cast<std::int64_t>(*record_ttl) : 0);
  return answer;
}

template <typename Answer>
asio::awaitable<Answer> CaresResolver::wait_for(std::shared_ptr<Flight<Answer>> flight) {
  if (!flight->done) {
    co_await flight->landed.async_wait(use_tuple);
  }
  co_return flight->answer;
}

template <typename Answer>
void CaresResolver::land(Flights<Answer>& flights, const std::string& name, const Answer& answer) {
  auto it = flights.find(name);
  if (it == flights.end()) {
    return;
  }
  it->second->answer = answer;
  it->second->done = true;
  it->second->landed.cancel(); // wakes every waiter
  flights.erase(it);
}

// From memory while it holds, else from the question already on its way, else a new one.
template <typename Answer>
asio::awaitable<Answer> CaresResolver::lookup(std::map<std::string, CacheEntry<Answer>>& cache,
                                              Flights<Answer>& flights, std::string name,
                                              Fetch<Answer> fetch) {
  auto cached = cache.find(name);
  if (cached != cache.end() && cached->second.expires > clock_.now()) {
    co_return cached->second.answer;
  }
  if (auto flight = flights.find(name); flight != flights.end()) {
    co_return co_await wait_for(flight->second);
  }
  flights.emplace(name, std::make_shared<Flight<Answer>>(executor_));
  Landing<Answer> landing{*this, flights, name};
  landing.answer = co_await (this->*fetch)(name);
  co_return landing.answer;
}

asio::awaitable<MxAnswer> CaresResolver::mx(std::string domain) {
  domain = mail::normalize_domain(domain);
  if (special_use_name(domain)) {
    co_return MxAnswer{Status::NxDomain, {}, {}}; // never a mail domain; DNS is not asked
  }
  co_return co_await lookup(mx_cache_, mx_flights_, domain, &CaresResolver::fetch_mx);
}

asio::awaitable<MxAnswer> CaresResolver::fetch_mx(std::string domain) {
  const RawAnswer raw = co_await query(domain, ns_t_mx);
  std::chrono::seconds ttl = options_.negative_ttl;
  MxAnswer answer = parse_mx(raw, ttl);
  if (answer.status == Status::TempFail) {
    answer.error = std::string("MX lookup for ") + domain + ": " + ares_strerror(raw.status);
  }
  remember(mx_cache_, domain, answer, ttl);
  co_return answer;
}

AddressAnswer CaresResolver::parse_addresses(const RawAnswer& raw, int type,
                                             std::chrono::seconds& ttl) const {
  AddressAnswer answer;
  answer.status = status_of(raw.status);
  if (answer.status != Status::Found) {
    return answer;
  }
  const int len = static_cast<int>(raw.bytes.size());
  int count = 16;
  int min_ttl = static_cast<int>(options_.max_ttl.count());
  if (type == ns_t_a) {
    ares_addrttl ttls[16];
    if (int rc = ares_parse_a_reply(raw.bytes.data(), len, nullptr, ttls, &count);
        rc != ARES_SUCCESS) {
      answer.status = status_of(rc);
      return answer;
    }
    for (int i = 0; i < count; ++i) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &ttls[i].ipaddr, 4);
      answer.addresses.emplace_back(asio::ip::address_v4(b));
      min_ttl = std::min(min_ttl, ttls[i].ttl);
    }
  } else {
    ares_addr6ttl ttls[16];
    if (int rc = ares_parse_aaaa_reply(raw.bytes.data(), len, nullptr, ttls, &count);
        rc != ARES_SUCCESS) {
      answer.status = status_of(rc);
      return answer;
    }
    for (int i = 0; i < count; ++i) {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &ttls[i].ip6addr, 16);
      answer.addresses.emplace_back(asio::ip::address_v6(b));
      min_ttl = std::min(min_ttl, ttls[i].ttl);
    }
  }
  answer.status = answer.addresses.empty() ? Status::NoData : Status::Found;
  ttl = bounded(min_ttl);
  return answer;
}

// RFC 6761 6.3: localhost names are the loopback addresses; 6.4 and RFC 7686: "invalid"
// and "onion" names have none. Neither is asked.
AddressAnswer special_use_addresses(std::string_view name) {
  AddressAnswer answer;
  if (name == "localhost") {
    answer.status = Status::Found;
    answer.addresses = {asio::ip::address_v4::loopback(), asio::ip::address_v6::loopback()};
  } else {
    answer.status = Status::NxDomain;
  }
  return answer;
}

// The same for one record type: localhost has 127.0.0.1 as A and ::1 as AAAA.
AddressAnswer special_use_family(std::string_view name, int type) {
  AddressAnswer answer = special_use_addresses(name);
  std::erase_if(answer.addresses,
                [type](const asio::ip::address& a) { return a.is_v4() != (type == ns_t_a); });
  return answer;
}

// Why a question failed: c-ares' reason, or a parse failure of an answer it accepted.
std::string failure(const char* type, const std::string& name, const RawAnswer& raw) {
  return std::string(type) + " lookup for " + name + ": " +
         (raw.status == ARES_SUCCESS ? "malformed answer" : ares_strerror(raw.status));
}

asio::awaitable<AddressAnswer> CaresResolver::addresses(std::string host) {
  host = mail::normalize_domain(host);
  if (const auto special = special_use_name(host)) {
    co_return special_use_addresses(*special);
  }
  co_return co_await lookup(address_cache_, address_flights_, host,
                            &CaresResolver::fetch_addresses);
}

asio::awaitable<AddressAnswer> CaresResolver::fetch_addresses(std::string host) {
  std::chrono::seconds ttl4 = options_.negative_ttl;
  std::chrono::seconds ttl6 = options_.negative_ttl;
  const RawAnswer raw4 = co_await query(host, ns_t_a);
  const RawAnswer raw6 = co_await query(host, ns_t_aaaa);
  AddressAnswer v4 = parse_addresses(raw4, ns_t_a, ttl4);
  AddressAnswer v6 = parse_addresses(raw6, ns_t_aaaa, ttl6);
  AddressAnswer answer;
  answer.addresses = v4.addresses;
  answer.addresses.insert(answer.addresses.end(), v6.addresses.begin(), v6.addresses.end());
  if (!answer.addresses.empty()) {
    answer.status = Status::Found;
  } else if (v4.status == Status::TempFail || v6.status == Status::TempFail) {
    answer.status = Status::TempFail;
    answer.error = "address lookup for " + host + ": " +
                   ares_strerror(v4.status == Status::TempFail ? raw4.status : raw6.status);
  } else {
    answer.status = v4.status == Status::NxDomain || v6.status == Status::NxDomain
                        ? Status::NxDomain
                        : Status::NoData;
  }
  remember(address_cache_, host, answer, std::min(ttl4, ttl6));
  co_return answer;
}

asio::awaitable<AddressAnswer> CaresResolver::a(std::string host) {
  host = mail::normalize_domain(host);
  if (const auto special = special_use_name(host)) {
    co_return special_use_family(*special, ns_t_a);
  }
  co_return co_await lookup(a_cache_, a_flights_, host, &CaresResolver::fetch_a);
}

asio::awaitable<AddressAnswer> CaresResolver::aaaa(std::string host) {
  host = mail::normalize_domain(host);
  if (const auto special = special_use_name(host)) {
    co_return special_use_family(*special, ns_t_aaaa);
  }
  co_return co_await lookup(aaaa_cache_, aaaa_flights_, host, &CaresResolver::fetch_aaaa);
}

asio::awaitable<AddressAnswer> CaresResolver::fetch_a(std::string host) {
  co_return co_await fetch_family(std::move(host), ns_t_a);
}

asio::awaitable<AddressAnswer> CaresResolver::fetch_aaaa(std::string host) {
  co_return co_await fetch_family(std::move(host), ns_t_aaaa);
}

asio::awaitable<AddressAnswer> CaresResolver::fetch_family(std::string host, int type) {
  const RawAnswer raw = co_await query(host, type);
  std::chrono::seconds ttl = options_.negative_ttl;
  AddressAnswer answer = parse_addresses(raw, type, ttl);
  if (answer.status == Status::TempFail) {
    answer.error = failure(type == ns_t_a ? "A" : "AAAA", host, raw);
  }
  remember(type == ns_t_a ? a_cache_ : aaaa_cache_, host, answer, ttl);
  co_return answer;
}

asio::awaitable<TextAnswer> CaresResolver::txt(std::string name) {
  name = mail::normalize_domain(name);
  if (special_use_name(name)) {
    co_return TextAnswer{Status::NxDomain, {}, {}};
  }
  co_return co_await lookup(txt_cache_, txt_flights_, name, &CaresResolver::fetch_txt);
}

asio::awaitable<TextAnswer> CaresResolver::fetch_txt(std::string name) {
  const RawAnswer raw = co_await query(name, ns_t_txt);
  std::chrono::seconds ttl = options_.negative_ttl;
  TextAnswer answer = parse_txt(raw, ttl);
  if (answer.status == Status::TempFail) {
    answer.error = failure("TXT", name, raw);
  }
  remember(txt_cache_, name, answer, ttl);
  co_return answer;
}

// c-ares hands each character-string apart and marks where a record starts.
TextAnswer CaresResolver::parse_txt(const RawAnswer& raw, std::chrono::seconds& ttl) const {
  TextAnswer answer;
  answer.status = status_of(raw.status);
  if (answer.status != Status::Found) {
    return answer;
  }
  ares_txt_ext* reply = nullptr;
  const int rc =
      ares_parse_txt_reply_ext(raw.bytes.data(), static_cast<int>(raw.bytes.size()), &reply);
  if (rc != ARES_SUCCESS) {
    answer.status = status_of(rc);
    return answer;
  }
  for (auto* r = reply; r != nullptr; r = r->next) {
    if (r->record_start || answer.records.empty()) {
      answer.records.emplace_back();
    }
    answer.records.back().append(reinterpret_cast<const char*>(r->txt), r->length);
  }
  ares_free_data(reply);
  answer.status = answer.records.empty() ? Status::NoData : Status::Found;
  const auto record_ttl = min_answer_ttl(raw.bytes);
  ttl = bounded(record_ttl ? static_cast<std::int64_t>(*record_ttl) : 0);
  return answer;
}

asio::awaitable<NameAnswer> CaresResolver::ptr(asio::ip::address address) {
  co_return co_await lookup(ptr_cache_, ptr_flights_, ptr_name(address), &CaresResolver::fetch_ptr);
}

asio::awaitable<NameAnswer> CaresResolver::fetch_ptr(std::string name) {
  const RawAnswer raw = co_await query(name, ns_t_ptr);
  std::chrono::seconds ttl = options_.negative_ttl;
  NameAnswer answer = parse_ptr(raw, ttl);
  if (answer.status == Status::TempFail) {
    answer.error = failure("PTR", name, raw);
  }
  remember(ptr_cache_, name, answer, ttl);
  co_return answer;
}

// c-ares lists every PTR target (after a CNAME, RFC 2317) among the hostent's aliases.
NameAnswer CaresResolver::parse_ptr(const RawAnswer& raw, std::chrono::seconds& ttl) const {
  NameAnswer answer;
  answer.status = status_of(raw.status);
  if (answer.status != Status::Found) {
    return answer;
  }
  // c-ares copies an address into the hostent it builds; only the names are read here.
  unsigned char unused_address[16] = {};
  hostent* host = nullptr;
  const int rc = ares_parse_ptr_reply(raw.bytes.data(), static_cast<int>(raw.bytes.size()),
                                      unused_address, sizeof unused_address, AF_INET6, &host);
  if (rc != ARES_SUCCESS) {
    answer.status = status_of(rc);
    return answer;
  }
  auto add = [&answer](const char* name) {
    std::string normal = mail::normalize_domain(name);
    if (std::find(answer.names.begin(), answer.names.end(), normal) == answer.names.end()) {
      answer.names.push_back(std::move(normal));
    }
  };
  for (char** alias = host->h_aliases; alias != nullptr && *alias != nullptr; ++alias) {
    add(*alias);
  }
  if (answer.names.empty() && host->h_name != nullptr) {
    add(host->h_name);
  }
  ares_free_hostent(host);
  answer.status = answer.names.empty() ? Status::NoData : Status::Found;
  const auto record_ttl = min_answer_ttl(raw.bytes);
  ttl = bounded(record_ttl ? static_cast<std::int64_t>(*record_ttl) : 0);
  return answer;
}

} // namespace

mail::Result<std::unique_ptr<Resolver>> Resolver::create(asio::any_io_executor executor,
                                                         ResolverOptions options,
                                                         const mail::Clock& clock) {
  auto resolver = std::make_unique<CaresResolver>(executor, std::move(options), clock);
  if (auto status = resolver->init(); !status) {
    return status.error();
  }
  return std::unique_ptr<Resolver>(std::move(resolver));
}

} // namespace backstop::dns
