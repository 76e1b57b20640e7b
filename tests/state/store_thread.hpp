// store_thread: the state store's own thread, as in the server: an io_context that runs until
// destroyed. For tests of what awaits the store from a session loop.
#pragma once

#include <asio.hpp>
#include <future>
#include <thread>

namespace backstop::state::testing {

class StoreThread {
public:
  StoreThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~StoreThread() {
    work_.reset();
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }
  // Returns once everything posted before has run (one thread: posts run in order).
  void drain() {
    std::promise<void> done;
    asio::post(io_, [&done] { done.set_value(); });
    done.get_future().wait();
  }

private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

} // namespace backstop::state::testing
