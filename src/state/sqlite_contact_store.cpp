// sqlite_contact_store: MX contacts in three tables: one row per (address, host, source)
// with first and last time and a count, the newest contact per host (is the feed alive?),
// and the positions of ingested log files. Each call is one IMMEDIATE transaction.
#include "state/sqlite_stores.hpp"

namespace backstop::state {

const char* const sqlite_contact_schema = R"sql(
CREATE TABLE IF NOT EXISTS mx_contact (
  address    TEXT NOT NULL,
  host       TEXT NOT NULL,
  source     TEXT NOT NULL,
  first_at   INTEGER NOT NULL,
  last_at    INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (address, host, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mx_contact_expires ON mx_contact(expires_at);
CREATE TABLE IF NOT EXISTS mx_host (
  host       TEXT PRIMARY KEY,
  last_at    INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ingest_position (
  file   TEXT PRIMARY KEY,
  device INTEGER NOT NULL,
  inode  INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

namespace {

constexpr const char* upsert_contact = R"sql(
INSERT INTO mx_contact (address, host, source, first_at, last_at, count, expires_at)
VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5)
ON CONFLICT (address, host, source) DO UPDATE SET
  first_at = min(first_at, excluded.first_at),
  last_at = max(last_at, excluded.last_at),
  count = count + 1,
  expires_at = max(expires_at, excluded.expires_at))sql";

constexpr const char* upsert_host = R"sql(
INSERT INTO mx_host (host, last_at, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (host) DO UPDATE SET
  last_at = max(last_at, excluded.last_at),
  expires_at = max(expires_at, excluded.expires_at))sql";

constexpr const char* upsert_position = R"sql(
INSERT INTO ingest_position (file, device, inode, byte_offset) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (file) DO UPDATE SET
  device = excluded.device, inode = excluded.inode, byte_offset = excluded.byte_offset)sql";

class SqliteContactStore final : public ContactStore {
public:
  explicit SqliteContactStore(Database& db) : db_(db) {}

  Status record(const std::vector<Contact>& contacts, std::int64_t keep) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&] { return write_contacts(contacts, keep); });
  }

  Status record_ingested(const std::vector<Contact>& contacts, std::int64_t keep,
                         const IngestPosition& p) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Status {
      if (auto written = write_contacts(contacts, keep); !written) {
        return written;
      }
      auto moved = db_.write_locked(upsert_position, p.file, p.device, p.inode, p.offset);
      if (!moved) {
        return moved.error();
      }
      return mail::Ok{};
    });
  }

  Result<std::optional<IngestPosition>> position(const std::string& file) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(),
                "SELECT device, inode, byte_offset FROM ingest_position WHERE file = ?1");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(file);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return std::optional<IngestPosition>{};
    }
    if (rc != SQLITE_ROW) {
      return db_.failure("read");
    }
    return std::optional<IngestPosition>{IngestPosition{
        file, static_cast<std::uint64_t>(s.integer(0)), static_cast<std::uint64_t>(s.integer(1)),
        static_cast<std::uint64_t>(s.integer(2))}};
  }

  Result<std::vector<ContactHistory>> contacts(const std::string& address,
                                               std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    Statement s(db_.handle(),
                "SELECT host, source, first_at, last_at, count, expires_at FROM mx_contact "
                "WHERE address = ?1 AND expires_at > ?2 ORDER BY last_at DESC, host, source");
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(address, now);
    std::vector<ContactHistory> out;
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({address, s.text(0), s.text(1), s.integer(2), s.integer(3),
                     static_cast<std::uint64_t>(s.integer(4)), s.integer(5)});
    }
    if (rc != SQLITE_DONE) {
      return db_.failure("read");
    }
    return out;
  }

  Result<std::vector<HostEvidence>> evidence(const std::string& address,
                                             const std::vector<std::string>& hosts,
                                             std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Result<std::vector<HostEvidence>> {
      std::vector<HostEvidence> out;
      for (const auto& host : hosts) {
        HostEvidence e{host};
        auto client = newest("SELECT max(last_at) FROM mx_contact WHERE address = ?1 AND "
                             "host = ?2 AND expires_at > ?3",
                             address, host, now);
        auto anyone =
            newest("SELECT last_at FROM mx_host WHERE host = ?1 AND expires_at > ?2", host, now);
        if (!client || !anyone) {
          return db_.failure("read");
        }
        e.client_last = client.value();
        e.anyone_last = anyone.value();
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  Result<std::size_t> erase_expired(std::int64_t now) override {
    std::lock_guard lock(db_.mutex());
    return db_.transaction([&]() -> Result<std::size_t> {
      std::size_t erased = 0;
      for (const char* sql : {"DELETE FROM mx_contact WHERE expires_at <= ?1",
                              "DELETE FROM mx_host WHERE expires_at <= ?1"}) {
        auto done = db_.write_locked(sql, now);
        if (!done) {
          return done.error();
        }
        erased += done.value();
      }
      return erased;
    });
  }

private:
  // Two statements prepared once per batch: a log's batch has hundreds of rows.
  Status write_contacts(const std::vector<Contact>& contacts, std::int64_t keep) {
    Statement contact(db_.handle(), upsert_contact);
    Statement host(db_.handle(), upsert_host);
    if (!contact.ok() || !host.ok()) {
      return db_.failure("write");
    }
    for (const auto& c : contacts) {
      const std::int64_t expires = c.at + keep;
      contact.bind_all(c.address, c.host, c.source, c.at, expires);
      host.bind_all(c.host, c.at, expires);
      if (contact.step() != SQLITE_DONE || host.step() != SQLITE_DONE) {
        return db_.failure("write");
      }
      contact.reset();
      host.reset();
    }
    return mail::Ok{};
  }

  // The one integer a query answers; 0 for no row or NULL.
  template <typename... Args> Result<std::int64_t> newest(const char* sql, const Args&... args) {
    Statement s(db_.handle(), sql);
    if (!s.ok()) {
      return db_.failure("read");
    }
    s.bind_all(args...);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return std::int64_t{0};
    }
    if (rc != SQLITE_ROW) {
      return db_.failure("read");
    }
    return s.integer(0);
  }

  Database& db_;
};

} // namespace

std::unique_ptr<ContactStore> make_sqlite_contact_store(Database& db) {
  return std::make_unique<SqliteContactStore>(db);
}

} // namespace backstop::state
