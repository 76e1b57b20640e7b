// resolver: asynchronous DNS on the event loop through c-ares (never blocks the loop), with
// a cache that honours TTLs (negative answers cached briefly). Every answer has three
// outcomes: found, does-not-exist (NXDOMAIN or no records of the type, told apart), and
// temporary failure; a caller must never read a temporary failure as "does not exist".
// Special-use names (dns/special_use.hpp) are answered without asking: no MX, and no
// address except localhost's loopback addresses (RFC 6761 6.3).
#pragma once

#include "mail/clock.hpp"
#include "mail/result.hpp"

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backstop::dns {

enum class Status { Found, NoData, NxDomain, TempFail };

struct MxRecord {
  unsigned preference = 0;
  std::string exchange; // lower case, no trailing dot; "" for the null MX target "."
};

struct MxAnswer {
  Status status = Status::TempFail;
  std::vector<MxRecord> records;
  bool null_mx() const { return records.size() == 1 && records[0].exchange.empty(); }
  std::string error;
};

struct AddressAnswer {
  Status status = Status::TempFail;
  std::vector<asio::ip::address> addresses;
  std::string error;
};

// TXT: each record's character-strings joined, in answer order (RFC 7208 3.3).
struct TextAnswer {
  Status status = Status::TempFail;
  std::vector<std::string> records;
  std::string error;
};

// PTR: the names an address maps back to, lower case, no trailing dot.
struct NameAnswer {
  Status status = Status::TempFail;
  std::vector<std::string> names;
  std::string error;
};

struct ResolverOptions {
  std::vector<std::string> servers; // "127.0.0.1:5353"; empty = /etc/resolv.conf
  std::chrono::milliseconds timeout{2000};
  int tries = 2;
  std::chrono::seconds negative_ttl{300};
  // Positive answers live for their records' TTL, bounded by these (a TTL of 0 would mean
  // one query per use; a week-long one would hide a moved MX).
  std::chrono::seconds min_ttl{60};
  std::chrono::seconds max_ttl{86400};
  // A temporary failure (timeout, SERVFAIL) is answered from memory this long, so that while
  // the resolver is down each name costs one wait, not one per MAIL or RCPT. 0 = not kept.
  std::chrono::seconds temporary_failure_ttl{5};
  // Told how long each query sent to a server took (not answers from memory), on the
  // resolver's loop: the metrics' DNS latency histogram. Must be cheap; may be empty.
  std::function<void(std::chrono::steady_clock::duration took)> on_query;
};

class Resolver {
public:
  virtual ~Resolver() = default;
  // One resolver per event loop: its c-ares channel and sockets live on that loop.
  static mail::Result<std::unique_ptr<Resolver>>
  create(asio::any_io_executor executor, ResolverOptions options, const mail::Clock& clock);

  virtual asio::awaitable<MxAnswer> mx(std::string domain) = 0;
  // A and AAAA together; Found when either has records.
  virtual asio::awaitable<AddressAnswer> addresses(std::string host) = 0;
  // One record type each, for checks (DNSBL answers are A records; SPF asks A and AAAA
  // apart). The defaults answer TempFail, so a resolver without them never passes a check.
  virtual asio::awaitable<AddressAnswer> a(std::string host);
  virtual asio::awaitable<AddressAnswer> aaaa(std::string host);
  virtual asio::awaitable<TextAnswer> txt(std::string name);
  virtual asio::awaitable<NameAnswer> ptr(asio::ip::address address);
  // Answers held in memory now (MX and address names); expired ones are swept out as new
  // ones come, so names that senders make up do not pile up.
  virtual std::size_t remembered() const { return 0; }
};

} // namespace backstop::dns
