// fallback_store: each concern's calls through the one FallbackSwitch, with the write that
// Redis must learn of later as a journal entry of its own.
#include "state/fallback_store.hpp"

#include "state/fallback_switch.hpp"

namespace backstop::state {

namespace {

// What every concern's decorator holds: the switch it asks.
struct Route {
  FallbackSwitch& sw;
};

class FallbackVerifyStore final : public VerifyStore {
public:
  explicit FallbackVerifyStore(Route route) : r_(route) {}

  Result<std::optional<VerifyEntry>> get_verify(const std::string& address,
                                                std::int64_t now) override {
    auto ask = [&](Store& s) { return s.verify().get_verify(address, now); };
    return r_.sw.call<std::optional<VerifyEntry>>(ask, ask);
  }
  Status put_verify(const VerifyEntry& entry) override {
    auto ask = [&](Store& s) { return s.verify().put_verify(entry); };
    return r_.sw.call<mail::Ok>(ask, ask, JournalEntry([entry](Store& remote) {
                                  return write_unless_newer(remote, entry);
                                }));
  }
  Result<std::vector<VerifyEntry>> list_verify(std::int64_t now) override {
    auto ask = [&](Store& s) { return s.verify().list_verify(now); };
    return r_.sw.call<std::vector<VerifyEntry>>(ask, ask);
  }
  Result<std::size_t> erase_verify(const std::string& pattern) override {
    auto ask = [&](Store& s) { return s.verify().erase_verify(pattern); };
    return r_.sw.call<std::size_t>(ask, ask);
  }
  Result<std::size_t> erase_expired(std::int64_t now) override {
    return r_.sw.sweep([&](Store& s) { return s.verify().erase_expired(now); });
  }

private:
  // Another host may have asked the primary since: its newer answer stays.
  static Status write_unless_newer(Store& remote, const VerifyEntry& entry) {
    auto there = remote.verify().get_verify(entry.address, entry.checked_at);
    if (!there) {
      return there.error();
    }
    if (there.value() && there.value()->checked_at >= entry.checked_at) {
      return mail::Ok{};
    }
    return remote.verify().put_verify(entry);
  }

  Route r_;
};

class FallbackGreylistStore final : public GreylistStore {
public:
  explicit FallbackGreylistStore(Route route) : r_(route) {}

  Result<GreylistOutcome> record_attempt(const GreylistAttempt& attempt,
                                         const GreylistRules& rules) override {
    auto ask = [&](Store& s) { return s.greylist().record_attempt(attempt, rules); };
    return r_.sw.call<GreylistOutcome>(ask, ask); // local only: a retry may be deferred again
  }
  Result<std::size_t> erase_expired(std::int64_t now) override {
    return r_.sw.sweep([&](Store& s) { return s.greylist().erase_expired(now); });
  }

private:
  Route r_;
};

class FallbackOffenderStore final : public OffenderStore {
public:
  explicit FallbackOffenderStore(Route route) : r_(route) {}

  Result<RecordOutcome> record(const Offense& offense, const BlacklistRules& rules) override {
    auto ask = [&](Store& s) { return s.offenders().record(offense, rules); };
    return r_.sw.call<RecordOutcome>(ask, ask, JournalEntry([offense, rules](Store& remote) {
                                       return status_of(remote.offenders().record(offense, rules));
                                     }));
  }
  Result<std::optional<Listing>> listing(const std::string& address, std::int64_t now) override {
    auto ask = [&](Store& s) { return s.offenders().listing(address, now); };
    return r_.sw.call<std::optional<Listing>>(ask, ask);
  }
  Status list(const Listing& listing) override {
    auto ask = [&](Store& s) { return s.offenders().list(listing); };
    return r_.sw.call<mail::Ok>(ask, ask, JournalEntry([listing](Store& remote) {
                                  return remote.offenders().list(listing);
                                }));
  }
  Result<bool> unlist(const std::string& address) override {
    auto ask = [&](Store& s) { return s.offenders().unlist(address); };
    return r_.sw.call<bool>(ask, ask, JournalEntry([address](Store& remote) {
                              return status_of(remote.offenders().unlist(address));
                            }));
  }
  Result<std::vector<Listing>> listings(std::int64_t now) override {
    auto ask = [&](Store& s) { return s.offenders().listings(now); };
    return r_.sw.call<std::vector<Listing>>(ask, ask);
  }
  Result<std::vector<Offense>> offenses(const std::string& address, std::int64_t since,
                                        std::size_t limit) override {
    auto ask = [&](Store& s) { return s.offenders().offenses(address, since, limit); };
    return r_.sw.call<std::vector<Offense>>(ask, ask);
  }
  Result<RetryHistory> record_retry(const Triplet& triplet, std::int64_t now,
                                    std::int64_t forget_after) override {
    auto ask = [&](Store& s) { return s.offenders().record_retry(triplet, now, forget_after); };
    return r_.sw.call<RetryHistory>(
        ask, ask, JournalEntry([triplet, now, forget_after](Store& remote) {
          return status_of(remote.offenders().record_retry(triplet, now, forget_after));
        }));
  }
  Result<std::size_t> erase_expired(std::int64_t now, const BlacklistRules& rules) override {
    return r_.sw.sweep([&](Store& s) { return s.offenders().erase_expired(now, rules); });
  }

private:
  template <typename T> static Status status_of(const Result<T>& result) {
    if (!result) {
      return result.error();
    }
    return mail::Ok{};
  }

  Route r_;
};

class FallbackPrimaryStatusStore final : public PrimaryStatusStore {
public:
  explicit FallbackPrimaryStatusStore(Route route) : r_(route) {}

  Status record_change(const PrimaryStatusChange& change, std::int64_t keep_seconds) override {
    auto ask = [&](Store& s) { return s.primary_status().record_change(change, keep_seconds); };
    return r_.sw.call<mail::Ok>(ask, ask); // local only: a replay could undo a newer change
  }
  Result<std::vector<PrimaryHostStatus>> current() override {
    auto ask = [&](Store& s) { return s.primary_status().current(); };
    return r_.sw.call<std::vector<PrimaryHostStatus>>(ask, ask);
  }
  Result<std::vector<PrimaryStatusChange>> history(const std::string& domain, std::int64_t since,
                                                   std::size_t limit) override {
    auto ask = [&](Store& s) { return s.primary_status().history(domain, since, limit); };
    return r_.sw.call<std::vector<PrimaryStatusChange>>(ask, ask);
  }

private:
  Route r_;
};

class FallbackContactStore final : public ContactStore {
public:
  explicit FallbackContactStore(Route route) : r_(route) {}

  Status record(const std::vector<Contact>& contacts, std::int64_t keep) override {
    auto ask = [&](Store& s) { return s.contacts().record(contacts, keep); };
    return r_.sw.call<mail::Ok>(ask, ask, JournalEntry([contacts, keep](Store& remote) {
                                  return remote.contacts().record(contacts, keep);
                                }));
  }
  Status record_ingested(const std::vector<Contact>& contacts, std::int64_t keep,
                         const IngestPosition& position) override {
    auto ask = [&](Store& s) { return s.contacts().record_ingested(contacts, keep, position); };
    return r_.sw.call<mail::Ok>(ask, ask, JournalEntry([contacts, keep, position](Store& remote) {
                                  return remote.contacts().record_ingested(contacts, keep,
                                                                           position);
                                }));
  }
  Result<std::optional<IngestPosition>> position(const std::string& file) override {
    auto ask = [&](Store& s) { return s.contacts().position(file); };
    return r_.sw.call<std::optional<IngestPosition>>(ask, ask);
  }
  Result<std::vector<ContactHistory>> contacts(const std::string& address,
                                               std::int64_t now) override {
    auto ask = [&](Store& s) { return s.contacts().contacts(address, now); };
    return r_.sw.call<std::vector<ContactHistory>>(ask, ask);
  }
  Result<std::vector<HostEvidence>> evidence(const std::string& address,
                                             const std::vector<std::string>& hosts,
                                             std::int64_t now) override {
    auto ask = [&](Store& s) { return s.contacts().evidence(address, hosts, now); };
    return r_.sw.call<std::vector<HostEvidence>>(ask, ask);
  }
  Result<std::size_t> erase_expired(std::int64_t now) override {
    return r_.sw.sweep([&](Store& s) { return s.contacts().erase_expired(now); });
  }

private:
  Route r_;
};

class FallbackStore final : public Store {
public:
  FallbackStore(std::unique_ptr<Store> remote, std::unique_ptr<Store> local,
                FallbackOptions options, std::chrono::milliseconds replay_budget)
      : remote_(std::move(remote)), local_(std::move(local)),
        switch_(*remote_, *local_, std::move(options), replay_budget), verify_({switch_}),
        greylist_({switch_}), offenders_({switch_}), primary_status_({switch_}),
        contacts_({switch_}) {}

  VerifyStore& verify() override { return verify_; }
  GreylistStore& greylist() override { return greylist_; }
  OffenderStore& offenders() override { return offenders_; }
  PrimaryStatusStore& primary_status() override { return primary_status_; }
  ContactStore& contacts() override { return contacts_; }

private:
  std::unique_ptr<Store> remote_;
  std::unique_ptr<Store> local_;
  FallbackSwitch switch_;
  FallbackVerifyStore verify_;
  FallbackGreylistStore greylist_;
  FallbackOffenderStore offenders_;
  FallbackPrimaryStatusStore primary_status_;
  FallbackContactStore contacts_;
};

} // namespace

std::unique_ptr<Store> make_fallback_store(std::unique_ptr<Store> remote,
                                           std::unique_ptr<Store> local, FallbackOptions options,
                                           std::chrono::milliseconds replay_budget) {
  return std::make_unique<FallbackStore>(std::move(remote), std::move(local), std::move(options),
                                         replay_budget);
}

} // namespace backstop::state
