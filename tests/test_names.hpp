// test_names: gtest parameter names from a case's label ("bare lf" -> "bare_lf").
#pragma once

#include <cctype>
#include <string>

namespace backstop::testing {

struct LabelName {
  template <typename Info> std::string operator()(const Info& info) const {
    std::string name = info.param.label;
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c))) {
        c = '_';
      }
    }
    return name;
  }
};

} // namespace backstop::testing
