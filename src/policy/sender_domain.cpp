// sender_domain: MX, then A/AAAA, and what each DNS outcome means for MAIL FROM.
#include "policy/sender_domain.hpp"

#include "dns/special_use.hpp"
#include "mail/replies.hpp"

namespace backstop::policy {

namespace mr = mail::replies;

namespace {

constexpr const char* check_name = "sender_domain";

mail::Verdict refuse(const mail::Address& sender, const std::string& why) {
  const std::string text = "<" + sender.to_string() + ">: " + mr::sender_domain_missing.text +
                           " (" + sender.domain + " " + why + ")";
  return mail::Verdict::decide(mail::Decision::Reject, mr::sender_domain_missing.with_text(text),
                               check_name, sender.domain + " " + why);
}

mail::Verdict defer(const mail::Address& sender, const std::string& error) {
  return mail::Verdict::decide(mail::Decision::Defer, mr::sender_domain_unchecked, check_name,
                               sender.domain + ": " + error);
}

} // namespace

asio::awaitable<mail::Verdict> SenderDomainCheck::check(const mail::Address& sender) const {
  if (sender.is_null() || sender.domain.empty() || sender.domain.front() == '[') {
    co_return mail::Verdict::accept(check_name);
  }
  if (const auto special = dns::special_use_name(sender.domain)) {
    co_return refuse(sender, "is a special-use name under \"" + std::string(*special) +
                                 "\" (RFC 6761, RFC 7686) and receives no mail");
  }
  const auto mx = co_await resolver_.mx(sender.domain);
  if (mx.status == dns::Status::TempFail) {
    co_return defer(sender, mx.error);
  }
  if (mx.status == dns::Status::NxDomain) {
    co_return refuse(sender, "does not exist");
  }
  if (mx.status == dns::Status::Found) {
    if (mx.null_mx()) {
      co_return refuse(sender, "accepts no mail (null MX)");
    }
    co_return mail::Verdict::accept(check_name);
  }
  const auto a = co_await resolver_.addresses(sender.domain);
  if (a.status == dns::Status::TempFail) {
    co_return defer(sender, a.error);
  }
  if (a.status != dns::Status::Found) {
    co_return refuse(sender, "has no MX or address records");
  }
  co_return mail::Verdict::accept(check_name);
}

} // namespace backstop::policy
