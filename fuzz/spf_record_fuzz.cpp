// spf_record_fuzz: SPF records and macro strings come from any DNS zone a sender names. The
// record parser and the macro parser must take arbitrary bytes; what they accept must
// expand, and a name made from the expansion must be one DNS can be asked (at most 253
// octets, labels of 1 to 63).
#include "spf/macro.hpp"
#include "spf/record.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace backstop::spf;

namespace {

void check_name(const std::string& name) {
  if (name.empty()) {
    return;
  }
  if (name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string::npos) {
    std::abort();
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto dot = std::min(name.find('.', start), name.size());
    if (dot - start > 63) {
      std::abort();
    }
    start = dot + 1;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)is_spf_record(input);
  (void)parse_record("v=spf1 " + std::string(input));
  MacroValues values;
  values.sender = "local-part+tag@sub.example.com";
  values.local = "local-part+tag";
  values.sender_domain = "sub.example.com";
  values.domain = std::string(input.substr(0, 300)); // %{d} may be anything a record names
  values.ip = "192.0.2.1";
  values.ip_version = "in-addr";
  values.helo = "helo.example.org";
  values.client = "192.0.2.1";
  values.receiver = "mx.example.net";
  values.timestamp = "1700000000";
  values.validated = "unknown";
  for (const auto use : {MacroUse::DomainSpec, MacroUse::Modifier, MacroUse::Explanation}) {
    auto parsed = MacroString::parse(input, use);
    if (!parsed) {
      continue;
    }
    (void)parsed->valid_domain_end();
    const auto expanded = parsed->expand(values);
    check_name(query_name(expanded));
  }
  return 0;
}
