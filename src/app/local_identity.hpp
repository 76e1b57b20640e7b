// local_identity: who "this host" is when delivery decides whether an MX target is itself
// (RFC 5321 5.1 and 6.3): hostname, local_names, local_addresses and every listen address,
// where a wildcard listener stands for every address of the host.
#pragma once

#include "app/config.hpp"
#include "delivery/mx_selector.hpp"

namespace backstop::app {

delivery::LocalIdentity local_identity(const Config& config);

} // namespace backstop::app
