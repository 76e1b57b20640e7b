// toml_settings: sub-tables are handed out once and finished with their parent.
#include "app/toml_settings.hpp"

namespace backstop::app {

std::vector<std::pair<std::string, policy::Settings*>> TomlSettings::tables(const char* key) {
  auto [it, fresh] = children_.try_emplace(key);
  if (fresh) {
    if (const toml::table* t = reader_.table(key)) {
      for (const auto& [name, node] : *t) {
        const std::string child_prefix = reader_.name(key) + ".\"" + std::string(name.str()) + "\"";
        if (const auto* sub = node.as_table()) {
          it->second.emplace_back(std::string(name.str()),
                                  std::make_unique<TomlSettings>(*sub, child_prefix, errors_));
        } else {
          reader_.error_at(node, child_prefix, "must be a table");
        }
      }
    }
  }
  std::vector<std::pair<std::string, policy::Settings*>> out;
  for (auto& [name, child] : it->second) {
    out.emplace_back(name, child.get());
  }
  return out;
}

std::vector<policy::Settings*> TomlSettings::array_of_tables(const char* key) {
  auto [it, fresh] = children_.try_emplace(std::string("[]") + key);
  if (fresh) {
    if (const toml::array* a = reader_.array(key)) {
      std::size_t index = 0;
      for (const auto& node : *a) {
        const std::string child_prefix = reader_.name(key) + "[" + std::to_string(index++) + "]";
        if (const auto* sub = node.as_table()) {
          it->second.emplace_back(child_prefix,
                                  std::make_unique<TomlSettings>(*sub, child_prefix, errors_));
        } else {
          reader_.error_at(node, child_prefix,
                           "must be a table; write [[" + reader_.name(key) + "]]");
        }
      }
    }
  }
  std::vector<policy::Settings*> out;
  for (auto& entry : it->second) {
    out.push_back(entry.second.get());
  }
  return out;
}

void TomlSettings::finish() {
  reader_.finish();
  for (auto& [key, list] : children_) {
    for (auto& entry : list) {
      entry.second->finish();
    }
  }
}

} // namespace backstop::app
