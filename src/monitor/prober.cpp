// prober: one pass over the domains every probe_interval.
#include "monitor/prober.hpp"

#include "delivery/smtp_client.hpp"
#include "smtp/asio_tokens.hpp"

#include <map>
#include <sstream>

namespace backstop::monitor {

Prober::Prober(asio::io_context& loop, delivery::Router& router, PrimaryMonitor& monitor,
               std::string helo_name, std::shared_ptr<spdlog::logger> log)
    : loop_(loop), router_(router), monitor_(monitor), helo_name_(std::move(helo_name)),
      log_(std::move(log)), timer_(loop) {}

void Prober::start() {
  if (monitor_.options().probe_interval.count() > 0) {
    asio::co_spawn(loop_, run(), asio::detached);
  }
}

void Prober::set_domains(std::vector<std::string> domains) {
  asio::post(loop_, [this, domains = std::move(domains)]() mutable {
    domains_ = std::move(domains);
    rerun_ = true;
    timer_.cancel();
  });
}

void Prober::stop() {
  asio::post(loop_, [this] {
    stopped_ = true;
    timer_.cancel();
  });
}

asio::awaitable<void> Prober::run() {
  while (!stopped_) {
    rerun_ = false;
    co_await pass();
    if (rerun_ || stopped_) {
      continue;
    }
    timer_.expires_after(monitor_.options().probe_interval);
    co_await timer_.async_wait(smtp::use_tuple);
  }
}

asio::awaitable<void> Prober::pass() {
  const auto domains = domains_;       // a reload may replace the list meanwhile
  std::map<std::string, Answer> asked; // by host: one probe per pass, whatever the domains
  for (const auto& domain : domains) {
    if (stopped_) {
      co_return;
    }
    const auto route = co_await router_.route(domain);
    std::vector<std::string> order;
    std::map<std::string, std::vector<delivery::Hop>> by_host;
    for (const auto& hop : route.hops) {
      if (by_host[hop.host].empty()) {
        order.push_back(hop.host);
      }
      by_host[hop.host].push_back(hop);
    }
    monitor_.set_hosts(domain, order);
    for (const auto& host : order) {
      auto known = asked.find(host);
      if (known == asked.end()) {
        auto answer = co_await probe_host(by_host[host]);
        known = asked.emplace(host, std::move(answer)).first;
      }
      if (known->second.alive) {
        monitor_.alive(domain, host, known->second.why);
      } else {
        monitor_.failed(domain, host, known->second.why);
      }
    }
  }
}

// Alive when one of the host's addresses greets with 2xx and answers EHLO.
asio::awaitable<Prober::Answer> Prober::probe_host(std::vector<delivery::Hop> hops) {
  const auto timeout = monitor_.options().probe_timeout;
  delivery::ClientOptions options;
  options.helo_name = helo_name_;
  options.connect_timeout = timeout;
  options.greeting_timeout = timeout;
  options.command_timeout = timeout;
  options.tls_context = nullptr; // a probe asks whether it answers, not whether TLS works
  Answer answer{false, "no address"};
  for (const auto& hop : hops) {
    options.deadline = std::chrono::steady_clock::now() + timeout;
    auto connected = co_await delivery::SmtpClient::connect(loop_.get_executor(), hop.endpoint,
                                                            hop.host, options);
    if (auto* client = std::get_if<std::unique_ptr<delivery::SmtpClient>>(&connected)) {
      co_await (*client)->quit();
      std::ostringstream where;
      where << hop.endpoint;
      answer = {true, "probe: " + hop.host + "[" + where.str() + "] answered EHLO"};
      if (log_) {
        log_->debug("monitor: {}", answer.why);
      }
      co_return answer;
    }
    answer = {false, "probe: " + std::get<std::string>(connected)};
    if (log_) {
      log_->debug("monitor: {}", answer.why);
    }
  }
  co_return answer;
}

} // namespace backstop::monitor
