// recipient_list: a static list of valid recipients, a source of truth that needs no
// primary. One entry per line: "user@example.org", or "@example.org" for every address of
// the domain; '#' starts a comment. Local parts compare case-insensitively, as primaries do.
#pragma once

#include "mail/address.hpp"
#include "mail/result.hpp"

#include <filesystem>
#include <string>
#include <unordered_set>

namespace backstop::policy {

class RecipientList {
public:
  static mail::Result<RecipientList> load(const std::filesystem::path& file);
  static mail::Result<RecipientList> parse(std::string_view text, const std::string& source);

  bool contains(const mail::Address& recipient) const;
  std::size_t size() const { return entries_.size(); }

private:
  std::unordered_set<std::string> entries_; // "local@domain" and "@domain", lower case
};

} // namespace backstop::policy
