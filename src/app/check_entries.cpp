// check_entries: one routine reads a check's section, for validation and for building.
#include "app/check_entries.hpp"

#include "app/toml_settings.hpp"

#include <limits>
#include <optional>

namespace backstop::app {

namespace {

policy::CheckMode to_mode(std::size_t index) {
  return index == 1 ? policy::CheckMode::Warn : policy::CheckMode::Enforce;
}

// Null when the check is off (mode = "off", or its factory says so) or only validated.
std::optional<policy::CheckEntry> configure(const policy::CheckType& type, const toml::table& table,
                                            std::vector<std::string>& errors,
                                            const policy::CheckServices* services) {
  TomlSettings settings(table, "checks." + std::string(type.name), errors);
  policy::CheckEntry entry;
  const std::size_t mode = settings.choice("mode", {"enforce", "warn", "off"}, 0);
  entry.mode = to_mode(mode);
  std::uint64_t order = static_cast<std::uint64_t>(type.order + 1000);
  settings.integer("order", order, 0, 100000);
  entry.order = static_cast<int>(order) - 1000;
  for (auto& [domain, domain_settings] : settings.tables("domain")) {
    const std::size_t domain_mode = domain_settings->choice("mode", {"enforce", "warn"}, mode == 1);
    entry.domain_modes[mail::normalize_domain(domain)] = to_mode(domain_mode);
  }
  auto check = type.make(settings, services);
  settings.finish();
  if (mode == 2 || check == nullptr || services == nullptr) {
    return std::nullopt;
  }
  entry.check = std::move(check);
  return entry;
}

const toml::table& empty_table() {
  static const toml::table empty;
  return empty;
}

} // namespace

void read_checks(TomlReader& top, ChecksConfig& out, std::vector<std::string>& errors) {
  const toml::table* checks = top.table("checks");
  if (checks == nullptr) {
    return;
  }
  out.sections = *checks;
  TomlReader reader(*checks, "checks", errors);
  reader.number("reject_score", out.reject_score, 0, std::numeric_limits<double>::max());
  for (const auto& [key, node] : *checks) {
    const std::string name(key.str());
    if (name == "reject_score") {
      continue;
    }
    const policy::CheckType* type = policy::find_check_type(name);
    const toml::table* table = node.as_table();
    if (type == nullptr || table == nullptr) {
      std::string known;
      for (const auto& t : policy::registered_checks()) {
        known += (known.empty() ? "" : ", ") + std::string(t.name);
      }
      reader.error_at(node, "checks." + name,
                      type == nullptr ? "no such check; the checks are: " + known
                                      : "must be a table: [checks." + name + "]");
      continue;
    }
    configure(*type, *table, errors, nullptr);
  }
}

std::vector<policy::CheckEntry> registered_check_entries(const ChecksConfig& checks,
                                                         const policy::CheckServices& services) {
  std::vector<policy::CheckEntry> out;
  std::vector<std::string> errors; // validated when the configuration was read
  for (const auto& type : policy::registered_checks()) {
    const toml::table* table = checks.sections[type.name].as_table();
    auto entry = configure(type, table != nullptr ? *table : empty_table(), errors, &services);
    if (entry) {
      out.push_back(std::move(*entry));
    }
  }
  return out;
}

} // namespace backstop::app
