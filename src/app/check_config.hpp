// check_config: `backstop check-config`: the file is valid (the loader did that), every
// recipient list loads, and warnings for what is valid but cannot work as written: domains
// whose MX records (asked through [dns]) make this host their best MX while no primary is
// configured, so their mail could never be delivered.
#pragma once

#include "app/config.hpp"

#include <string>

namespace backstop::app {

int run_check_config(const Config& config, const std::string& path);

} // namespace backstop::app
