#include "app/service_manager.hpp"

#include <systemd/sd-daemon.h>

namespace backstop::app {

struct ServiceManager::Watchdog {
  explicit Watchdog(asio::io_context& loop) : timer(loop) {}
  asio::steady_timer timer;
  std::vector<asio::io_context*> watched;
  std::unique_ptr<std::atomic<bool>[]> answered; // one per watched loop, since the last round
  std::chrono::microseconds every{0};
  bool stopped = false;
};

namespace {

void notify(const std::string& text) { sd_notify(0, text.c_str()); }

// Asks every watched loop to answer, and pings systemd when all answered the last round.
void watchdog_round(const std::shared_ptr<ServiceManager::Watchdog>& dog) {
  if (dog->stopped) {
    return;
  }
  bool all = true;
  for (std::size_t i = 0; i < dog->watched.size(); ++i) {
    all = dog->answered[i].exchange(false) && all;
  }
  if (all) {
    notify("WATCHDOG=1");
  }
  for (std::size_t i = 0; i < dog->watched.size(); ++i) {
    asio::post(*dog->watched[i], [dog, i] { dog->answered[i].store(true); });
  }
  dog->timer.expires_after(dog->every);
  dog->timer.async_wait([dog](std::error_code ec) {
    if (!ec) {
      watchdog_round(dog);
    }
  });
}

} // namespace

void ServiceManager::ready(std::string_view status) const {
  notify("READY=1\nSTATUS=" + std::string(status));
}

void ServiceManager::reloading() const { notify("RELOADING=1\nSTATUS=reloading"); }

void ServiceManager::stopping() const { notify("STOPPING=1\nSTATUS=stopping"); }

std::chrono::microseconds ServiceManager::watchdog_interval() const {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) {
    return std::chrono::microseconds{0};
  }
  return std::chrono::microseconds{usec};
}

void ServiceManager::start_watchdog(asio::io_context& timer_loop,
                                    std::vector<asio::io_context*> watched) {
  const auto interval = watchdog_interval();
  if (interval.count() == 0) {
    return;
  }
  watchdog_ = std::make_shared<Watchdog>(timer_loop);
  watchdog_->every = interval / 2;
  watchdog_->watched = std::move(watched);
  watchdog_->answered = std::make_unique<std::atomic<bool>[]>(watchdog_->watched.size());
  for (std::size_t i = 0; i < watchdog_->watched.size(); ++i) {
    watchdog_->answered[i].store(true); // the first round pings: everything just started
  }
  asio::post(timer_loop, [dog = watchdog_] { watchdog_round(dog); });
}

void ServiceManager::stop_watchdog() {
  if (watchdog_) {
    auto dog = watchdog_;
    asio::post(dog->timer.get_executor(), [dog] {
      dog->stopped = true;
      dog->timer.cancel();
    });
  }
}

} // namespace backstop::app
