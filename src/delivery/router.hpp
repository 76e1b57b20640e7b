// router: where mail for a domain may go: the configured primary list, or the domain's MX
// hosts more preferred than this host (RFC 5321 5.1, see mx_selector). The scheduler asks
// a Router and never looks at DNS itself, so tests and the primary override are one path.
#pragma once

#include <asio.hpp>
#include <string>
#include <vector>

namespace backstop::delivery {

struct Hop {
  std::string host; // name for logs, SNI and certificate checks
  asio::ip::tcp::endpoint endpoint;
};

struct Route {
  std::vector<Hop> hops;  // in the order to try
  std::string error;      // set when hops is empty
  bool permanent = false; // e.g. null MX: bounce instead of retrying
};

class Router {
public:
  virtual ~Router() = default;
  virtual asio::awaitable<Route> route(const std::string& domain) = 0;
};

} // namespace backstop::delivery
