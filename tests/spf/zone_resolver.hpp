// zone_resolver: a dns::Resolver that answers from the zone data of the openspf test suite
// (tests/data/spf/README.md, "How the fake resolver must behave"): case-insensitive names,
// NXDOMAIN for absent names, the SPF->TXT copy rule, CNAMEs followed (a loop is a DNS
// error), TIMEOUT entries answered as temporary failures, records in the order listed.
// Only the DNS layer is substituted: the evaluator under test is the production one.
#pragma once

#include "dns/resolver.hpp"
#include "mail/address.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace backstop::spf::test {

struct ZoneEntry {
  enum Type { Txt, Spf, A, Aaaa, Mx, Ptr, Cname, Timeout, TxtNone } type = Timeout;
  std::string text; // TXT/SPF strings joined; A/AAAA address; PTR/CNAME/MX name
  unsigned preference = 0;
};

class ZoneResolver final : public dns::Resolver {
public:
  using Zone = std::map<std::string, std::vector<ZoneEntry>>;

  // Names as written in the suite; the copy rule is applied here.
  explicit ZoneResolver(const Zone& zone) {
    for (const auto& [name, entries] : zone) {
      auto& mine = zone_[key(name)];
      mine.insert(mine.end(), entries.begin(), entries.end());
    }
    for (auto& [name, entries] : zone_) {
      bool has_txt = false;
      std::vector<ZoneEntry> copies;
      for (const auto& e : entries) {
        has_txt = has_txt || e.type == ZoneEntry::Txt || e.type == ZoneEntry::TxtNone;
        if (e.type == ZoneEntry::Spf) {
          copies.push_back({ZoneEntry::Txt, e.text, 0});
        }
      }
      if (!has_txt) {
        entries.insert(entries.end(), copies.begin(), copies.end()); // listed last
      }
    }
  }

  asio::awaitable<dns::MxAnswer> mx(std::string domain) override {
    const auto found = lookup(domain, ZoneEntry::Mx);
    dns::MxAnswer answer{found.status, {}, found.error};
    for (const auto* e : found.entries) {
      answer.records.push_back({e->preference, mail::normalize_domain(e->text)});
    }
    co_return answer;
  }
  asio::awaitable<dns::AddressAnswer> addresses(std::string host) override {
    auto four = address_answer(host, ZoneEntry::A);
    auto six = address_answer(host, ZoneEntry::Aaaa);
    if (four.status == dns::Status::TempFail || six.status == dns::Status::TempFail) {
      co_return dns::AddressAnswer{dns::Status::TempFail, {}, "timeout"};
    }
    four.addresses.insert(four.addresses.end(), six.addresses.begin(), six.addresses.end());
    if (!four.addresses.empty()) {
      four.status = dns::Status::Found;
    }
    co_return four;
  }
  asio::awaitable<dns::AddressAnswer> a(std::string host) override {
    co_return address_answer(host, ZoneEntry::A);
  }
  asio::awaitable<dns::AddressAnswer> aaaa(std::string host) override {
    co_return address_answer(host, ZoneEntry::Aaaa);
  }
  asio::awaitable<dns::TextAnswer> txt(std::string name) override {
    const auto found = lookup(name, ZoneEntry::Txt);
    dns::TextAnswer answer{found.status, {}, found.error};
    for (const auto* e : found.entries) {
      answer.records.push_back(e->text);
    }
    co_return answer;
  }
  asio::awaitable<dns::NameAnswer> ptr(asio::ip::address address) override {
    const auto found = lookup(reverse_name(address), ZoneEntry::Ptr);
    dns::NameAnswer answer{found.status, {}, found.error};
    for (const auto* e : found.entries) {
      answer.names.push_back(mail::normalize_domain(e->text));
    }
    co_return answer;
  }

  std::size_t queries() const { return queries_; }
  std::size_t queries(ZoneEntry::Type type) const {
    const auto it = by_type_.find(type);
    return it == by_type_.end() ? 0 : it->second;
  }

  static std::string reverse_name(const asio::ip::address& address) {
    std::string out;
    if (address.is_v4()) {
      const auto b = address.to_v4().to_bytes();
      for (int i = 3; i >= 0; --i) {
        out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
      }
      return out + "in-addr.arpa";
    }
    static constexpr char hex[] = "0123456789abcdef";
    const auto b = address.to_v6().to_bytes();
    for (int i = 15; i >= 0; --i) {
      out += hex[b[static_cast<std::size_t>(i)] & 0xf];
      out += '.';
      out += hex[b[static_cast<std::size_t>(i)] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }

private:
  struct Found {
    dns::Status status = dns::Status::NxDomain;
    std::vector<const ZoneEntry*> entries;
    std::string error;
  };

  static std::string key(std::string_view name) { return mail::normalize_domain(name); }

  Found lookup(const std::string& name, ZoneEntry::Type type) {
    ++queries_;
    ++by_type_[type];
    std::set<std::string> seen;
    std::string current = key(name);
    while (true) {
      if (!seen.insert(current).second) {
        return {dns::Status::TempFail, {}, "CNAME loop at " + current};
      }
      const auto it = zone_.find(current);
      if (it == zone_.end()) {
        return {dns::Status::NxDomain, {}, {}};
      }
      Found found{dns::Status::NoData, {}, {}};
      std::string alias;
      for (const auto& e : it->second) {
        if (e.type == ZoneEntry::Timeout) {
          if (found.entries.empty()) {
            return {dns::Status::TempFail, {}, "timeout"};
          }
          break;
        }
        if (e.type == type) {
          found.entries.push_back(&e);
        } else if (e.type == ZoneEntry::Cname && alias.empty()) {
          alias = key(e.text);
        }
      }
      if (found.entries.empty() && !alias.empty()) {
        current = alias;
        continue;
      }
      if (!found.entries.empty()) {
        found.status = dns::Status::Found;
      }
      return found;
    }
  }

  dns::AddressAnswer address_answer(const std::string& host, ZoneEntry::Type type) {
    const auto found = lookup(host, type);
    dns::AddressAnswer answer{found.status, {}, found.error};
    for (const auto* e : found.entries) {
      asio::error_code ec;
      const auto address = asio::ip::make_address(e->text, ec);
      if (!ec) {
        answer.addresses.push_back(address);
      }
    }
    return answer;
  }

  std::map<std::string, std::vector<ZoneEntry>> zone_;
  std::size_t queries_ = 0;
  std::map<ZoneEntry::Type, std::size_t> by_type_;
};

} // namespace backstop::spf::test
