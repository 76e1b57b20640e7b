// recipient_list: parsing and lookup of the static recipient list.
#include "policy/recipient_list.hpp"

#include <fstream>
#include <sstream>

namespace backstop::policy {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

} // namespace

mail::Result<RecipientList> RecipientList::parse(std::string_view text, const std::string& source) {
  RecipientList list;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) {
      continue;
    }
    const auto at = line.rfind('@');
    if (at == std::string_view::npos || at + 1 == line.size() ||
        line.find_first_of(" \t") != std::string_view::npos) {
      return mail::make_error(source + " line " + std::to_string(line_number) + ": \"" +
                              std::string(line) + "\" is not an address or @domain");
    }
    list.entries_.insert(mail::ascii_lower(line.substr(0, at)) + "@" +
                         mail::normalize_domain(line.substr(at + 1)));
  }
  return list;
}

mail::Result<RecipientList> RecipientList::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return mail::make_error(file.string() + ": cannot open the recipient list");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

bool RecipientList::contains(const mail::Address& recipient) const {
  const std::string domain = "@" + recipient.domain;
  return entries_.count(domain) != 0 ||
         entries_.count(mail::ascii_lower(recipient.local) + domain) != 0;
}

} // namespace backstop::policy
