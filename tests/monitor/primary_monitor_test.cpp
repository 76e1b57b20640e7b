// primary_monitor_test: the state machine of "is the primary up", with a manual clock:
// hysteresis (down_after failures, up_after successes), the first result deciding, the
// cascade over several more-preferred hosts, decoys, the ETRN heartbeat window, the
// callouts' backoff, and every change reported with its time and reason.
#include "monitor/primary_monitor.hpp"

#include <gtest/gtest.h>

namespace backstop::monitor {
namespace {

using namespace std::chrono_literals;
using policy::PrimaryState;

class PrimaryMonitorTest : public ::testing::Test {
protected:
  PrimaryMonitorTest() { make({}); }
  void make(MonitorOptions options) {
    options.down_after = down_after_;
    options.up_after = up_after_;
    monitor_ = std::make_unique<PrimaryMonitor>(
        options, clock_, [this](const StateChange& c) { changes_.push_back(c); });
    monitor_->set_domains({{"example.test", {"mx0.example.test", "127.0.0.9"}}});
    monitor_->set_hosts("example.test", {"mx1.example.test"});
  }
  PrimaryState state() const { return monitor_->domain("example.test").state; }

  std::uint32_t down_after_ = 3;
  std::uint32_t up_after_ = 2;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + 1795392000s};
  std::vector<StateChange> changes_;
  std::unique_ptr<PrimaryMonitor> monitor_;
};

TEST_F(PrimaryMonitorTest, UnknownUntilTheFirstResultWhichDecidesAtOnce) {
  EXPECT_EQ(state(), PrimaryState::Unknown);
  monitor_->alive("example.test", "mx1.example.test", "probe: answered EHLO");
  const auto view = monitor_->domain("example.test");
  EXPECT_EQ(view.state, PrimaryState::Up);
  EXPECT_EQ(view.host, "mx1.example.test");
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].from, PrimaryState::Unknown);
  EXPECT_EQ(changes_[0].to, PrimaryState::Up);
  EXPECT_EQ(changes_[0].at, 1795392000);
  EXPECT_EQ(changes_[0].reason, "probe: answered EHLO");
}

TEST_F(PrimaryMonitorTest, DownOnlyAfterDownAfterFailuresInARow) {
  monitor_->alive("example.test", "mx1.example.test", "ok");
  monitor_->failed("example.test", "mx1.example.test", "refused");
  monitor_->failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(state(), PrimaryState::Up) << "two failures of three";
  monitor_->alive("example.test", "mx1.example.test", "ok"); // a success resets the count
  monitor_->failed("example.test", "mx1.example.test", "refused");
  monitor_->failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(state(), PrimaryState::Up);
  clock_.advance(60s);
  monitor_->failed("example.test", "mx1.example.test", "connection refused");
  EXPECT_EQ(state(), PrimaryState::Down);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1].from, PrimaryState::Up);
  EXPECT_EQ(changes_[1].to, PrimaryState::Down);
  EXPECT_EQ(changes_[1].at, 1795392060);
  EXPECT_EQ(changes_[1].reason, "connection refused");
}

TEST_F(PrimaryMonitorTest, UpAgainOnlyAfterUpAfterSuccessesInARow) {
  monitor_->failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(state(), PrimaryState::Down);
  monitor_->alive("example.test", "mx1.example.test", "ok");
  EXPECT_EQ(state(), PrimaryState::Down) << "one success of two";
  monitor_->failed("example.test", "mx1.example.test", "refused");
  monitor_->alive("example.test", "mx1.example.test", "ok");
  EXPECT_EQ(state(), PrimaryState::Down);
  monitor_->alive("example.test", "mx1.example.test", "ok");
  EXPECT_EQ(state(), PrimaryState::Up);
}

TEST_F(PrimaryMonitorTest, CascadeAnyMorePreferredHostThatAnswersIsUp) {
  monitor_->set_hosts("example.test", {"mx1.example.test", "mx2.example.test"});
  monitor_->failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(state(), PrimaryState::Unknown) << "mx2 not asked yet";
  monitor_->alive("example.test", "mx2.example.test", "ok");
  auto view = monitor_->domain("example.test");
  EXPECT_EQ(view.state, PrimaryState::Up);
  EXPECT_EQ(view.host, "mx2.example.test");
  down_after_ = 1;
  make({});
  monitor_->set_hosts("example.test", {"mx1.example.test", "mx2.example.test"});
  monitor_->failed("example.test", "mx1.example.test", "refused");
  monitor_->failed("example.test", "mx2.example.test", "timed out");
  view = monitor_->domain("example.test");
  EXPECT_EQ(view.state, PrimaryState::Down);
  EXPECT_NE(view.reason.find("mx2.example.test: timed out"), std::string::npos) << view.reason;
}

TEST_F(PrimaryMonitorTest, DecoysAreNeverCountedNorTakenForThePrimary) {
  monitor_->set_hosts("example.test", {"mx0.example.test", "mx1.example.test"});
  monitor_->alive("example.test", "mx0.example.test", "would be a lie");
  EXPECT_EQ(state(), PrimaryState::Unknown);
  monitor_->failed("example.test", "mx1.example.test", "refused");
  EXPECT_EQ(state(), PrimaryState::Down) << "the decoy's refusal is by design, not the primary";
  EXPECT_TRUE(monitor_->is_decoy("example.test", "MX0.example.test."));
  EXPECT_TRUE(monitor_->is_decoy("example.test", "127.0.0.9"));
  EXPECT_FALSE(monitor_->is_decoy("example.test", "mx1.example.test"));
  for (const auto& host : monitor_->hosts()) {
    EXPECT_NE(host.host, "mx0.example.test");
  }
}

TEST_F(PrimaryMonitorTest, HeartbeatProvesThePrimaryAliveForItsWindow) {
  MonitorOptions options;
  options.heartbeat_window = 600s;
  make(options);
  monitor_->failed("example.test", "mx1.example.test", "refused");
  monitor_->heartbeat("example.test", "192.0.2.10");
  auto view = monitor_->domain("example.test");
  EXPECT_EQ(view.state, PrimaryState::Up);
  EXPECT_EQ(view.host, "heartbeat");
  clock_.advance(599s);
  EXPECT_EQ(state(), PrimaryState::Up);
  clock_.advance(1s);
  EXPECT_EQ(state(), PrimaryState::Down) << "the window ended: the probes decide again";
}

TEST_F(PrimaryMonitorTest, HeartbeatIsIgnoredWithoutAWindow) {
  monitor_->heartbeat("example.test", "192.0.2.10");
  EXPECT_EQ(state(), PrimaryState::Unknown);
}

TEST_F(PrimaryMonitorTest, OtherDomainsAreNeitherTrackedNorUp) {
  monitor_->alive("bounce.example", "mx.bounce.example", "delivered a bounce");
  EXPECT_EQ(monitor_->domain("bounce.example").state, PrimaryState::Unknown);
  EXPECT_TRUE(changes_.empty());
}

TEST_F(PrimaryMonitorTest, BackoffOfCalloutsEndsAtItsTimeAndOnClear) {
  const auto now = PrimaryMonitor::SteadyClock::now();
  monitor_->backing_off("example.test", now + 60s, "mx1 did not answer recently");
  ASSERT_TRUE(monitor_->why_backing_off("example.test", now + 59s).has_value());
  EXPECT_EQ(*monitor_->why_backing_off("example.test", now), "mx1 did not answer recently");
  EXPECT_FALSE(monitor_->why_backing_off("example.test", now + 60s).has_value());
  monitor_->clear_backoff();
  EXPECT_FALSE(monitor_->why_backing_off("example.test", now).has_value());
}

TEST_F(PrimaryMonitorTest, HostsNoLongerRoutedAreForgotten) {
  monitor_->alive("example.test", "mx1.example.test", "ok");
  monitor_->set_hosts("example.test", {"mx9.example.test"});
  EXPECT_EQ(state(), PrimaryState::Unknown);
  const auto hosts = monitor_->hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].host, "mx9.example.test");
}

} // namespace
} // namespace backstop::monitor
