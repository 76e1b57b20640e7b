// route_watch: one pass over the domains, then wait for the interval or a new domain list.
#include "delivery/route_watch.hpp"

#include "smtp/asio_tokens.hpp"

namespace backstop::delivery {

RouteWatch::RouteWatch(asio::io_context& loop, Router& router,
                       const policy::Destinations& destinations, std::chrono::seconds interval,
                       std::shared_ptr<spdlog::logger> log)
    : loop_(loop), router_(router), destinations_(destinations), interval_(interval),
      log_(std::move(log)), timer_(loop) {}

void RouteWatch::start() { asio::co_spawn(loop_, run(), asio::detached); }

void RouteWatch::set_domains(std::vector<std::string> domains) {
  asio::post(loop_, [this, domains = std::move(domains)]() mutable {
    domains_ = std::move(domains);
    rerun_ = true; // a pass in progress still has the old list: one more pass at once
    timer_.cancel();
  });
}

void RouteWatch::stop() {
  asio::post(loop_, [this] {
    stopped_ = true;
    timer_.cancel();
  });
}

asio::awaitable<void> RouteWatch::run() {
  while (!stopped_) {
    rerun_ = false;
    const auto pass = domains_; // a reload may replace the list while a lookup waits
    for (const auto& domain : pass) {
      if (stopped_) {
        co_return;
      }
      const auto before = destinations_.nowhere(domain);
      co_await router_.route(domain);
      const auto after = destinations_.nowhere(domain);
      if (before && after && *before == *after) {
        log_->error("{}: still {}; its recipients get 451 4.4.4", domain, *after);
      }
    }
    if (rerun_) {
      continue;
    }
    timer_.expires_after(interval_);
    co_await timer_.async_wait(smtp::use_tuple);
  }
}

} // namespace backstop::delivery
