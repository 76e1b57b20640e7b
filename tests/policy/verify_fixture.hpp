// verify_fixture: what the recipient-verifier and pipeline tests share: a scripted prober
// that counts its calls, and a fixture with a manual clock, a real SQLite store in a
// temporary directory and one io_context that is both the session loop and the store's
// executor, so that polling it runs everything that is ready, background refreshes included.
#pragma once

#include "policy/recipient_prober.hpp"
#include "policy/recipient_verifier.hpp"
#include "policy/verify_cache.hpp"
#include "state/store.hpp"

#include <asio.hpp>
#include <deque>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace backstop::policy::test {

// Answers from a script, in order (Unknown once it runs out). hold() parks every probe until
// release(), to observe what happens while a callout is under way.
class ScriptedProber final : public RecipientProber {
public:
  explicit ScriptedProber(asio::io_context& io)
      : gate_(io, asio::steady_timer::time_point::max()) {}

  void will_answer(ProbeResult result, std::string reply) {
    const int code = result == ProbeResult::Valid ? 250 : result == ProbeResult::Invalid ? 550 : 0;
    script_.push_back({result, code, std::move(reply)});
  }
  void hold() { held_ = true; }
  void release() {
    held_ = false;
    gate_.cancel();
  }
  std::size_t calls() const { return asked_.size(); }
  const std::vector<mail::Address>& asked() const { return asked_; }

  asio::awaitable<ProbeAnswer> probe(mail::Address recipient) override {
    asked_.push_back(recipient);
    ProbeAnswer answer{ProbeResult::Unknown, 0, "primary not reachable (scripted)"};
    if (!script_.empty()) {
      answer = script_.front();
      script_.pop_front();
    }
    if (held_) {
      std::error_code ignored;
      co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return answer;
  }

private:
  asio::steady_timer gate_;
  bool held_ = false;
  std::deque<ProbeAnswer> script_;
  std::vector<mail::Address> asked_;
};

class VerifyFixture : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("verify_fixture_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = state::open_store({"sqlite", dir_ / "state.db", false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    cache_options_.positive_ttl = std::chrono::hours(24 * 30);
    cache_options_.positive_refresh = std::chrono::hours(24 * 7);
    cache_options_.negative_ttl = std::chrono::hours(3);
    cache_ = new_cache();
  }
  void TearDown() override {
    prober_.release();
    settle();
    cache_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<VerifyCache> new_cache() {
    return std::make_unique<VerifyCache>(&store_->verify(), io_.get_executor(), clock_,
                                         cache_options_, nullptr);
  }

  // Runs everything that is ready now, and what that makes ready, until nothing is.
  void settle() {
    io_.restart();
    io_.poll();
  }

  // Awaits task on the loop; nullopt (and a failure) when it is still waiting afterwards.
  template <typename T> std::optional<T> run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(io_, std::move(task), [&out](std::exception_ptr e, T value) {
      if (e) {
        std::rethrow_exception(e);
      }
      out = std::move(value);
    });
    settle();
    EXPECT_TRUE(out.has_value()) << "the awaitable did not finish";
    return out;
  }

  std::optional<state::VerifyEntry> cached(const mail::Address& a) {
    auto found = run(cache_->lookup(cache_key(a)));
    return found ? *found : std::nullopt;
  }

  static std::shared_ptr<const RecipientList> list_of(std::string_view text) {
    auto list = RecipientList::parse(text, "test list");
    EXPECT_TRUE(list.ok());
    return std::make_shared<const RecipientList>(list.ok() ? std::move(list.value())
                                                           : RecipientList{});
  }

  std::filesystem::path dir_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + std::chrono::hours(480000)};
  asio::io_context io_;
  std::unique_ptr<state::Store> store_;
  VerifyCacheOptions cache_options_;
  std::unique_ptr<VerifyCache> cache_;
  ScriptedProber prober_{io_};
};

} // namespace backstop::policy::test
