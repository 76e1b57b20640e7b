#include "admin/history.hpp"

#include <gtest/gtest.h>

namespace backstop::admin {
namespace {

TEST(History, KeepsWhatChangedSinceTheSampleBefore) {
  History history;
  history.add(100, 0, 0, {});
  history.add(160, 3, 3, {{"RCPT reject relay_domains", 1}});
  history.add(220, 3, 5, {{"RCPT reject relay_domains", 1}, {"RCPT defer greylist", 4}});
  const auto samples = history.samples();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[1].accepted, 3u);
  EXPECT_EQ(samples[1].refused.at("relay_domains"), 1u);
  EXPECT_EQ(samples[2].accepted, 2u);
  EXPECT_EQ(samples[2].refused.count("relay_domains"), 0u);
  EXPECT_EQ(samples[2].refused.at("greylist"), 4u);
  EXPECT_EQ(samples[2].queued, 3u);
}

TEST(History, RefusalsOfOneCheckAtSeveralStagesAddUp) {
  History history;
  history.add(1, 0, 0, {{"MAIL reject dnsbl", 2}, {"RCPT reject dnsbl", 3}});
  EXPECT_EQ(history.samples()[0].refused.at("dnsbl"), 5u);
}

TEST(History, KeepsOnlyTheNewestSamples) {
  History history(2);
  for (int i = 0; i < 5; ++i) {
    history.add(i, static_cast<std::uint64_t>(i), 0, {});
  }
  const auto samples = history.samples();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].at, 3);
  EXPECT_EQ(samples[1].at, 4);
  EXPECT_EQ(history.to_json().size(), 2u);
}

} // namespace
} // namespace backstop::admin
