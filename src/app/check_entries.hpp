// check_entries: [checks] and every [checks.<name>] section to the pipeline's entries. The
// keys every check has are read here: mode ("enforce" | "warn" | "off"), order, and
// domain."<d>".mode; the rest of a section belongs to the check's factory. The same code
// validates a configuration (no services) and builds the checks (with them).
#pragma once

#include "app/config.hpp"
#include "app/toml_reader.hpp"
#include "policy/check_registry.hpp"
#include "policy/pipeline.hpp"

#include <string>
#include <vector>

namespace backstop::app {

// Reads [checks]: unknown check names and every error in a section go to errors.
void read_checks(TomlReader& top, ChecksConfig& out, std::vector<std::string>& errors);

// The registered checks that this configuration switches on, each with its mode and order.
std::vector<policy::CheckEntry> registered_check_entries(const ChecksConfig& checks,
                                                         const policy::CheckServices& services);

} // namespace backstop::app
