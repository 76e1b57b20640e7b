// result: what check_host() (RFC 7208 2.6) answers: one of seven results, the explanation a
// "fail" carries (the domain's exp= text or the receiver's default) and, for every result,
// a reason in words for logs and the Received-SPF comment.
#pragma once

#include <string>
#include <string_view>

namespace backstop::spf {

enum class Result { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };

// "pass", "fail", ...: the words of RFC 7208 2.6 and of the Received-SPF header.
constexpr std::string_view result_name(Result result) {
  switch (result) {
  case Result::None:
    return "none";
  case Result::Neutral:
    return "neutral";
  case Result::Pass:
    return "pass";
  case Result::Fail:
    return "fail";
  case Result::SoftFail:
    return "softfail";
  case Result::TempError:
    return "temperror";
  case Result::PermError:
    return "permerror";
  }
  return "none";
}

struct Outcome {
  Result result = Result::None;
  std::string explanation; // only for Fail: what the sender's domain wants said
  std::string reason;      // why: the matching mechanism, the missing record, the error
  std::string mechanism;   // the directive that matched ("-all", "ip4:192.0.2.0/24"), if any
};

} // namespace backstop::spf
