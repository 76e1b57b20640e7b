// Which hits are offenses, of which kind, and which count toward the blacklist.
#include "trap/recorder.hpp"

#include <gtest/gtest.h>

namespace backstop::trap {
namespace {

TrapListener listener(Kind kind) {
  TrapListener l;
  l.kind = kind;
  l.label = std::string(to_string(kind)) + " 127.0.0.9:25";
  return l;
}

Hit hit(bool named_ours) {
  Hit h;
  h.address = "192.0.2.7";
  h.recipient_domain = named_ours ? "example.test" : "poisoner.example";
  h.named_ours = named_ours;
  h.detail = "deferred at RCPT";
  return h;
}

TEST(TrapRecorder, DeferHitCountsOnlyWhenRcptNamedOurDomain) {
  const TrapServices services;
  const auto l = listener(Kind::Defer);
  const Recorder r(l, services);
  const auto ours = r.offense(hit(true), 1000);
  ASSERT_TRUE(ours);
  EXPECT_EQ(ours->kind, state::OffenseKind::TrapHit);
  EXPECT_EQ(ours->listener, "defer 127.0.0.9:25");
  EXPECT_TRUE(ours->counts);
  const auto foreign = r.offense(hit(false), 1000);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(foreign->counts); // kept as evidence only
}

TEST(TrapRecorder, RefuseCountsOnlyByItsRule) {
  const TrapServices services;
  auto l = listener(Kind::Refuse);
  Hit h;
  h.address = "192.0.2.7";
  EXPECT_FALSE(Recorder(l, services).offense(h, 1000)->counts);
  l.count_hits = true;
  EXPECT_TRUE(Recorder(l, services).offense(h, 1000)->counts);
}

TEST(TrapRecorder, StaleAfterTheGraceOnly) {
  const TrapServices services;
  auto l = listener(Kind::Defer);
  l.stale_since = "1970-01-01";
  l.stale_after = 2000;
  const Recorder r(l, services);
  EXPECT_EQ(r.offense(hit(true), 1999)->kind, state::OffenseKind::TrapHit);
  const auto stale = r.offense(hit(true), 2000);
  EXPECT_EQ(stale->kind, state::OffenseKind::StaleMx);
  EXPECT_NE(stale->detail.find("withdrawn on 1970-01-01"), std::string::npos);
}

TEST(TrapRecorder, AnSmtpListenerIsNoOffenseUntilStale) {
  const TrapServices services;
  auto l = listener(Kind::Smtp);
  l.stale_after = 2000;
  const Recorder r(l, services);
  Hit h;
  h.address = "192.0.2.7";
  EXPECT_FALSE(r.offense(h, 1999));
  const auto stale = r.offense(h, 2001);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->kind, state::OffenseKind::StaleMx);
  EXPECT_FALSE(stale->counts); // no RCPT seen: only count_hits counts
}

} // namespace
} // namespace backstop::trap
