// check_registry: a list filled once, before main, by each check's RegisterCheck.
#include "policy/check_registry.hpp"

#include <algorithm>

namespace backstop::policy {

namespace {
// Function-local so that registrations from any translation unit find it constructed.
std::vector<CheckType>& registry() {
  static std::vector<CheckType> types;
  return types;
}
} // namespace

RegisterCheck::RegisterCheck(CheckType type) {
  auto& types = registry();
  types.push_back(type);
  std::sort(types.begin(), types.end(), [](const CheckType& a, const CheckType& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
}

const std::vector<CheckType>& registered_checks() { return registry(); }

const CheckType* find_check_type(std::string_view name) {
  for (const auto& type : registry()) {
    if (type.name == name) {
      return &type;
    }
  }
  return nullptr;
}

} // namespace backstop::policy
