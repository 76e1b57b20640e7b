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
#include <tuple>

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

// A record type's name in error texts.
constexpr const char* type_name(int type) {
  switch (type) {
  case ns_t_mx:
    return "MX";
  case ns_t_a:
    return "A";
  case ns_t_aaaa:
    return "AAAA";
  case ns_t_txt:
    return "TXT";
  case ns_t_ptr:
    return "PTR";
  default:
    return "DNS";
  }
}

// One question a resolver asks: its record type, the answer it gives, its name in errors.
// Each has its own cache and flights; what differs between them is only how c-ares' parse
// of the answer is read (CaresResolver::parse) and what a special-use name answers.
template <typename A, int Type> struct Question {
  using Answer = A;
  static constexpr int type = Type;
  static constexpr const char* name = type_name(Type);
};
using MxQuestion = Question<MxAnswer, ns_t_mx>;
using AQuestion = Question<AddressAnswer, ns_t_a>;
using AaaaQuestion = Question<AddressAnswer, ns_t_aaaa>;
using TxtQuestion = Question<TextAnswer, ns_t_txt>;
using PtrQuestion = Question<NameAnswer, ns_t_ptr>;
// A and AAAA together (addresses()): two questions, one answer.
struct AddressesQuestion {
  using Answer = AddressAnswer;
};

class CaresResolver final : public Resolver {
public:
  CaresResolver(asio::any_io_executor executor, ResolverOptions options, const mail::Clock& clock)
      : executor_(executor), options_(std::move(options)), clock_(clock), timer_(executor) {}
  ~CaresResolver() override;

  mail::Status init();
  asio::awaitable<MxAnswer> mx(std::string domain) override {
    return ask<MxQuestion>(std::move(domain));
  }
  asio::awaitable<AddressAnswer> addresses(std::string host) override {
    return ask<AddressesQuestion>(std::move(host));
  }
  asio::awaitable<AddressAnswer> a(std::string host) override {
    return ask<AQuestion>(std::move(host));
  }
  asio::awaitable<AddressAnswer> aaaa(std::string host) override {
    return ask<AaaaQuestion>(std::move(host));
  }
  asio::awaitable<TextAnswer> txt(std::string name) override {
    return ask<TxtQuestion>(std::move(name));
  }
  asio::awaitable<NameAnswer> ptr(asio::ip::address address) override {
    return lookup<PtrQuestion>(ptr_name(address));
  }
  std::size_t remembered() const override {
    return std::apply([](const auto&... table) { return (table.cache.size() + ...); }, tables_);
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
  template <typename Answer> using Cache = std::map<std::string, CacheEntry<Answer>>;
  // What is remembered, and what is on its way, for one kind of question.
  template <typename Q> struct Table {
    Cache<typename Q::Answer> cache;
    Flights<typename Q::Answer> flights;
  };
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
  MxAnswer parse(const RawAnswer& raw, MxQuestion, std::chrono::seconds& ttl) const;
  AddressAnswer parse(const RawAnswer& raw, AQuestion, std::chrono::seconds& ttl) const;
  AddressAnswer parse(const RawAnswer& raw, AaaaQuestion, std::chrono::seconds& ttl) const;
  TextAnswer parse(const RawAnswer& raw, TxtQuestion, std::chrono::seconds& ttl) const;
  NameAnswer parse(const RawAnswer& raw, PtrQuestion, std::chrono::seconds& ttl) const;
  template <typename Reply>
  AddressAnswer parse_addresses(const RawAnswer& raw, std::chrono::seconds& ttl) const;
  std::chrono::seconds bounded(std::int64_t record_ttl) const;
  std::chrono::seconds message_ttl(const RawAnswer& raw) const;
  template <typename Answer>
  void remember(Cache<Answer>& cache, const std::string& name, const Answer& answer,
                std::chrono::seconds ttl);
  template <typename Answer>
  static asio::awaitable<Answer> wait_for(std::shared_ptr<Flight<Answer>> flight);
  template <typename Answer>
  void land(Flights<Answer>& flights, const std::string& name, const Answer& answer);
  template <typename Q> Table<Q>& table() { return std::get<Table<Q>>(tables_); }
  template <typename Q> asio::awaitable<typename Q::Answer> ask(std::string name);
  template <typename Q> asio::awaitable<typename Q::Answer> lookup(std::string name);
  template <typename A, int Type> asio::awaitable<A> fetch(Question<A, Type>, std::string name);
  asio::awaitable<AddressAnswer> fetch(AddressesQuestion, std::string host);

  asio::any_io_executor executor_;
  ResolverOptions options_;
  const mail::Clock& clock_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, Watch> watches_;
  asio::steady_timer timer_;
  std::uint64_t remembered_ = 0; // answers stored; every 1024th sweeps out the expired
  std::tuple<Table<MxQuestion>, Table<AddressesQuestion>, Table<AQuestion>, Table<AaaaQuestion>,
             Table<TxtQuestion>, Table<PtrQuestion>>
      tables_;
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
  const auto sent = std::chrono::steady_clock::now();
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
  if (options_.on_query) {
    options_.on_query(std::chrono::steady_clock::now() - sent);
  }
  co_return pending->answer;
}

std::chrono::seconds CaresResolver::bounded(std::int64_t record_ttl) const {
  return std::clamp(std::chrono::seconds(record_ttl), options_.min_ttl, options_.max_ttl);
}

// c-ares drops the TTLs; a message it parsed has one, the minimum is the safe fallback.
std::chrono::seconds CaresResolver::message_ttl(const RawAnswer& raw) const {
  const auto record_ttl = min_answer_ttl(raw.bytes);
  return bounded(record_ttl ? static_cast<std::int64_t>(*record_ttl) : 0);
}

// Every outcome is remembered: a temporary failure only briefly, the others as DNS says.
template <typename Answer>
void CaresResolver::remember(Cache<Answer>& cache, const std::string& name, const Answer& answer,
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

// What a special-use name answers without asking: no MX, no TXT; addresses as above.
template <typename Q> typename Q::Answer special_use_answer(Q, std::string_view) {
  typename Q::Answer answer;
  answer.status = Status::NxDomain; // never a mail domain; DNS is not asked
  return answer;
}
AddressAnswer special_use_answer(AddressesQuestion, std::string_view name) {
  return special_use_addresses(name);
}
AddressAnswer special_use_answer(AQuestion, std::string_view name) {
  return special_use_family(name, ns_t_a);
}
AddressAnswer special_use_answer(AaaaQuestion, std::string_view name) {
  return special_use_family(name, ns_t_aaaa);
}

// Why a question failed: c-ares' reason, or a parse failure of an answer it accepted.
std::string failure(const char* type, const std::string& name, const RawAnswer& raw) {
  return std::string(type) + " lookup for " + name + ": " +
         (raw.status == ARES_SUCCESS ? "malformed answer" : ares_strerror(raw.status));
}

// A name as DNS compares it; special-use names are answered here and never asked.
template <typename Q> asio::awaitable<typename Q::Answer> CaresResolver::ask(std::string name) {
  name = mail::normalize_domain(name);
  if (const auto special = special_use_name(name)) {
    co_return special_use_answer(Q{}, *special);
  }
  co_return co_await lookup<Q>(std::move(name));
}

// From memory while it holds, else from the question already on its way, else a new one.
template <typename Q> asio::awaitable<typename Q::Answer> CaresResolver::lookup(std::string name) {
  using Answer = typename Q::Answer;
  auto& known = table<Q>();
  auto cached = known.cache.find(name);
  if (cached != known.cache.end() && cached->second.expires > clock_.now()) {
    co_return cached->second.answer;
  }
  if (auto flight = known.flights.find(name); flight != known.flights.end()) {
    co_return co_await wait_for(flight->second);
  }
  known.flights.emplace(name, std::make_shared<Flight<Answer>>(executor_));
  Landing<Answer> landing{*this, known.flights, name};
  const Q question{};
  landing.answer = co_await fetch(question, name);
  co_return landing.answer;
}

// One question of one record type, its answer parsed and remembered.
template <typename A, int Type>
asio::awaitable<A> CaresResolver::fetch(Question<A, Type> question, std::string name) {
  const RawAnswer raw = co_await query(name, Type);
  std::chrono::seconds ttl = options_.negative_ttl;
  A answer = parse(raw, question, ttl);
  if (answer.status == Status::TempFail) {
    answer.error = failure(question.name, name, raw);
  }
  remember(table<Question<A, Type>>().cache, name, answer, ttl);
  co_return answer;
}

// addresses(): A and AAAA asked one after the other, merged into one answer.
asio::awaitable<AddressAnswer> CaresResolver::fetch(AddressesQuestion, std::string host) {
  std::chrono::seconds ttl4 = options_.negative_ttl;
  std::chrono::seconds ttl6 = options_.negative_ttl;
  const RawAnswer raw4 = co_await query(host, ns_t_a);
  const RawAnswer raw6 = co_await query(host, ns_t_aaaa);
  AddressAnswer v4 = parse(raw4, AQuestion{}, ttl4);
  AddressAnswer v6 = parse(raw6, AaaaQuestion{}, ttl6);
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
  remember(table<AddressesQuestion>().cache, host, answer, std::min(ttl4, ttl6));
  co_return answer;
}

MxAnswer CaresResolver::parse(const RawAnswer& raw, MxQuestion, std::chrono::seconds& ttl) const {
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
  ttl = message_ttl(raw);
  return answer;
}

// c-ares' parser for each address family, and the address in each of its records.
int parse_family(const RawAnswer& raw, ares_addrttl* records, int* count) {
  return ares_parse_a_reply(raw.bytes.data(), static_cast<int>(raw.bytes.size()), nullptr, records,
                            count);
}
int parse_family(const RawAnswer& raw, ares_addr6ttl* records, int* count) {
  return ares_parse_aaaa_reply(raw.bytes.data(), static_cast<int>(raw.bytes.size()), nullptr,
                               records, count);
}
asio::ip::address address_of(const ares_addrttl& record) {
  asio::ip::address_v4::bytes_type b;
  std::memcpy(b.data(), &record.ipaddr, 4);
  return asio::ip::address_v4(b);
}
asio::ip::address address_of(const ares_addr6ttl& record) {
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), &record.ip6addr, 16);
  return asio::ip::address_v6(b);
}

// c-ares gives each address its own TTL: the answer lives as long as the shortest.
template <typename Reply>
AddressAnswer CaresResolver::parse_addresses(const RawAnswer& raw,
                                             std::chrono::seconds& ttl) const {
  AddressAnswer answer;
  answer.status = status_of(raw.status);
  if (answer.status != Status::Found) {
    return answer;
  }
  Reply records[16];
  int count = 16;
  if (int rc = parse_family(raw, records, &count); rc != ARES_SUCCESS) {
    answer.status = status_of(rc);
    return answer;
  }
  int min_ttl = static_cast<int>(options_.max_ttl.count());
  for (int i = 0; i < count; ++i) {
    answer.addresses.push_back(address_of(records[i]));
    min_ttl = std::min(min_ttl, records[i].ttl);
  }
  answer.status = answer.addresses.empty() ? Status::NoData : Status::Found;
  ttl = bounded(min_ttl);
  return answer;
}

AddressAnswer CaresResolver::parse(const RawAnswer& raw, AQuestion,
                                   std::chrono::seconds& ttl) const {
  return parse_addresses<ares_addrttl>(raw, ttl);
}

AddressAnswer CaresResolver::parse(const RawAnswer& raw, AaaaQuestion,
                                   std::chrono::seconds& ttl) const {
  return parse_addresses<ares_addr6ttl>(raw, ttl);
}

// c-ares hands each character-string apart and marks where a record starts.
TextAnswer CaresResolver::parse(const RawAnswer& raw, TxtQuestion,
                                std::chrono::seconds& ttl) const {
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
  ttl = message_ttl(raw);
  return answer;
}

// c-ares lists every PTR target (after a CNAME, RFC 2317) among the hostent's aliases.
NameAnswer CaresResolver::parse(const RawAnswer& raw, PtrQuestion,
                                std::chrono::seconds& ttl) const {
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
  ttl = message_ttl(raw);
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
