// explanation: macro expansion with the DNS it may need (the p macro, RFC 7208 7.3) and the
// explanation of a fail (exp=, 6.2), which never counts against the lookup limits.
#include "mail/address.hpp"
#include "spf/evaluation.hpp"

namespace backstop::spf::detail {

namespace {

bool below(const std::string& name, const std::string& domain) {
  return name.size() > domain.size() &&
         name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
         name[name.size() - domain.size() - 1] == '.';
}

} // namespace

asio::awaitable<std::string> Evaluation::expand(const MacroString& text,
                                                const std::string& domain) {
  values_.domain = domain;
  if (text.uses('p')) {
    values_.validated = co_await validated_name(domain);
  }
  co_return text.expand(values_);
}

asio::awaitable<std::string> Evaluation::target_name(const std::optional<MacroString>& spec,
                                                     const std::string& domain) {
  if (!spec) {
    co_return domain;
  }
  const auto expanded = co_await expand(*spec, domain);
  co_return query_name(expanded);
}

// 7.3 p: a name of the client's PTR records that resolves back to the client: <domain>
// itself if it is one, else one below it, else any; "unknown" when none is.
asio::awaitable<std::string> Evaluation::validated_name(const std::string& domain) {
  const auto ptr = co_await ptr_names();
  const std::string wanted = mail::ascii_lower(domain);
  for (const int rank : {0, 1, 2}) {
    for (const auto& name : ptr.names) {
      const int name_rank = name == wanted ? 0 : below(name, wanted) ? 1 : 2;
      if (name_rank != rank) {
        continue;
      }
      const bool valid = co_await host_has_client(name);
      if (valid) {
        co_return name;
      }
    }
  }
  co_return "unknown";
}

// 6.2: the one TXT record at the exp= name, ASCII and a valid explain-string; anything wrong
// with it (DNS, none, several, syntax) falls back to the default explanation.
asio::awaitable<std::string> Evaluation::explanation(const Record& record,
                                                     const std::string& domain) {
  std::optional<MacroString> text;
  if (record.explanation) {
    text = co_await explanation_text(*record.explanation, domain);
  }
  if (!text) {
    auto fallback = MacroString::parse(options_.default_explanation, MacroUse::Explanation);
    if (!fallback) {
      co_return options_.default_explanation;
    }
    text = std::move(*fallback);
  }
  co_return co_await expand(*text, domain);
}

asio::awaitable<std::optional<MacroString>>
Evaluation::explanation_text(const MacroString& spec, const std::string& domain) {
  const auto name = co_await target_name(spec, domain);
  if (name.empty()) {
    co_return std::nullopt;
  }
  const auto answer = co_await txt(name);
  if (answer.status != dns::Status::Found || answer.records.size() != 1) {
    co_return std::nullopt;
  }
  const auto& found = answer.records.front();
  for (char c : found) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      co_return std::nullopt;
    }
  }
  auto parsed = MacroString::parse(found, MacroUse::Explanation);
  if (!parsed) {
    co_return std::nullopt;
  }
  co_return std::move(*parsed);
}

} // namespace backstop::spf::detail
