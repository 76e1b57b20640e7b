// offender_allowlist: networks by CIDR, PTR names by whole labels ("mail.example" covers
// "out1.mail.example", never "evilmail.example").
#include "state/offender_allowlist.hpp"

#include "mail/address.hpp"

namespace backstop::state {

namespace {

std::string bare_name(std::string_view text) {
  std::string name = mail::ascii_lower(text);
  while (!name.empty() && name.front() == '.') {
    name.erase(name.begin());
  }
  while (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  return name;
}

} // namespace

OffenderAllowlist::OffenderAllowlist(const std::vector<std::string>& networks,
                                     const std::vector<std::string>& ptr_suffixes,
                                     std::vector<std::string>& errors) {
  for (const auto& text : networks) {
    if (auto cidr = mail::Cidr::parse(text)) {
      networks_.push_back(*cidr);
      network_texts_.push_back(text);
    } else {
      errors.push_back("\"" + text + "\" is not an address or network");
    }
  }
  for (const auto& text : ptr_suffixes) {
    if (auto suffix = bare_name(text); !suffix.empty()) {
      suffixes_.push_back(std::move(suffix));
    } else {
      errors.push_back("\"" + text + "\" is not a domain name");
    }
  }
}

std::string OffenderAllowlist::match(std::string_view address,
                                     std::string_view confirmed_ptr) const {
  for (std::size_t i = 0; i < networks_.size(); ++i) {
    if (networks_[i].contains(address)) {
      return "network " + network_texts_[i];
    }
  }
  if (confirmed_ptr.empty()) {
    return {};
  }
  const std::string name = bare_name(confirmed_ptr);
  for (const auto& suffix : suffixes_) {
    if (name_has_suffix(name, suffix)) {
      return "PTR name " + name + " ends in " + suffix;
    }
  }
  return {};
}

Offense exempted(Offense offense, const OffenderAllowlist& allowlist) {
  if (!offense.counts) {
    return offense;
  }
  if (auto why = allowlist.match(offense.address, offense.ptr); !why.empty()) {
    offense.counts = false;
    offense.detail += (offense.detail.empty() ? "" : "; ") + ("allowlisted: " + why);
  }
  return offense;
}

bool name_has_suffix(std::string_view name, std::string_view suffix) {
  if (suffix.empty() || name.size() < suffix.size() || !name.ends_with(suffix)) {
    return false;
  }
  return name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.';
}

} // namespace backstop::state
