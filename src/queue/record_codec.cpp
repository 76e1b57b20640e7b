// record_codec: byte layout of spool records.
#include "queue/record_codec.hpp"

#include <cstring>
#include <zlib.h>

namespace backstop::queue {

namespace {

constexpr std::uint8_t record_version = 1;
constexpr std::uint32_t max_field = 1u << 20; // no envelope string is longer than 1 MiB
constexpr std::uint32_t max_recipients = 1u << 20;

class Writer {
public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { le(v, 2); }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

private:
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
  }
  std::string out_;
};

class Reader {
public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t position() const { return pos_; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  std::string str() {
    const std::uint32_t n = u32();
    if (!ok_ || n > max_field || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }

private:
  std::uint64_t le(int n) {
    if (!ok_ || in_.size() - pos_ < static_cast<std::size_t>(n)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void put_address(Writer& w, const mail::Address& a) {
  w.str(a.local);
  w.str(a.domain);
}

mail::Address get_address(Reader& r) {
  mail::Address a;
  a.local = r.str();
  a.domain = r.str();
  return a;
}

} // namespace

std::uint32_t crc32_of(std::string_view bytes, std::uint32_t crc) {
  return static_cast<std::uint32_t>(
      ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::string encode_envelope(const mail::Envelope& e) {
  Writer w;
  put_address(w, e.sender);
  w.u32(static_cast<std::uint32_t>(e.recipients.size()));
  for (const auto& r : e.recipients) {
    put_address(w, r.address);
    w.u8(r.notify);
    w.str(r.orcpt);
  }
  w.u64(e.declared_size);
  w.u8(static_cast<std::uint8_t>(e.body));
  w.u8(e.smtputf8 ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(e.ret));
  w.str(e.envid);
  w.str(e.client_ip);
  w.str(e.client_name);
  w.str(e.helo);
  w.str(e.tls);
  w.i64(e.arrival_unix);
  w.u8(e.sender_verified ? 1 : 0); // optional trailing field: older records end before it
  return w.take();
}

std::optional<mail::Envelope> decode_envelope(std::string_view bytes) {
  Reader r(bytes);
  mail::Envelope e;
  e.sender = get_address(r);
  const std::uint32_t count = r.u32();
  if (!r.ok() || count > max_recipients) {
    return std::nullopt;
  }
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    mail::Recipient rc;
    rc.address = get_address(r);
    rc.notify = r.u8();
    rc.orcpt = r.str();
    e.recipients.push_back(std::move(rc));
  }
  e.declared_size = r.u64();
  const std::uint8_t body = r.u8();
  const std::uint8_t smtputf8 = r.u8();
  e.smtputf8 = smtputf8 == 1;
  const std::uint8_t ret = r.u8();
  e.envid = r.str();
  e.client_ip = r.str();
  e.client_name = r.str();
  e.helo = r.str();
  e.tls = r.str();
  e.arrival_unix = r.i64();
  const std::uint8_t verified = r.ok() && r.position() < bytes.size() ? r.u8() : 0;
  e.sender_verified = verified == 1;
  if (!r.ok() || body > 2 || ret > 2 || smtputf8 > 1 || verified > 1 ||
      r.position() != bytes.size()) {
    return std::nullopt;
  }
  e.body = static_cast<mail::BodyType>(body);
  e.ret = static_cast<mail::DsnRet>(ret);
  return e;
}

std::string encode_state(const MessageState& s) {
  Writer w;
  w.u8(s.held ? 1 : 0);
  w.i64(s.delay_notice_unix);
  w.u32(static_cast<std::uint32_t>(s.recipients.size()));
  for (const auto& r : s.recipients) {
    w.u8(static_cast<std::uint8_t>(r.status));
    w.u32(r.attempts);
    w.i64(r.next_attempt_unix);
    w.str(r.last_error);
    w.str(r.remote);
  }
  return w.take();
}

std::optional<MessageState> decode_state(std::string_view bytes) {
  Reader r(bytes);
  MessageState s;
  const std::uint8_t held = r.u8();
  if (held > 1) {
    return std::nullopt; // one encoding per value: corruption shows, never passes
  }
  s.held = held == 1;
  s.delay_notice_unix = r.i64();
  const std::uint32_t count = r.u32();
  if (!r.ok() || count > max_recipients) {
    return std::nullopt;
  }
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    RecipientState rs;
    const std::uint8_t status = r.u8();
    if (status > 2) {
      return std::nullopt;
    }
    rs.status = static_cast<RecipientStatus>(status);
    rs.attempts = r.u32();
    rs.next_attempt_unix = r.i64();
    rs.last_error = r.str();
    rs.remote = r.str();
    s.recipients.push_back(std::move(rs));
  }
  if (!r.ok() || r.position() != bytes.size()) {
    return std::nullopt;
  }
  return s;
}

std::string encode_header(RecordType type, std::uint64_t id, std::uint64_t payload_length,
                          std::uint32_t payload_crc) {
  Writer w;
  w.u32(record_magic);
  w.u8(static_cast<std::uint8_t>(type));
  w.u8(record_version);
  w.u16(0);
  w.u64(payload_length);
  w.u64(id);
  std::string header = w.take();
  const std::uint32_t crc = record_crc(header, payload_crc, payload_length);
  Writer tail;
  tail.u32(crc);
  tail.u32(0);
  return header + tail.take();
}

std::uint32_t record_crc(std::string_view header24, std::uint32_t payload_crc,
                         std::uint64_t payload_length) {
  const std::uint32_t head = crc32_of(header24.substr(0, 24));
  return static_cast<std::uint32_t>(
      crc32_combine(head, payload_crc, static_cast<z_off_t>(payload_length)));
}

std::optional<RecordHeader> decode_header(std::string_view bytes) {
  if (bytes.size() < header_size) {
    return std::nullopt;
  }
  Reader r(bytes.substr(0, header_size));
  RecordHeader h;
  const std::uint32_t magic = r.u32();
  const std::uint8_t type = r.u8();
  const std::uint8_t version = r.u8();
  r.u16();
  h.payload_length = r.u64();
  h.id = r.u64();
  h.crc = r.u32();
  if (magic != record_magic || version != record_version || type < 1 || type > 3 ||
      h.payload_length > max_payload) {
    return std::nullopt;
  }
  h.type = static_cast<RecordType>(type);
  return h;
}

std::string encode_message_prefix(const mail::Envelope& envelope, const MessageState& state) {
  Writer w;
  w.str(encode_envelope(envelope));
  w.str(encode_state(state));
  return w.take();
}

std::optional<MessageParts> decode_message_prefix(std::string_view payload) {
  Reader r(payload);
  const std::uint32_t env_len = r.u32();
  if (!r.ok() || env_len > payload.size() - 4) {
    return std::nullopt;
  }
  auto envelope = decode_envelope(payload.substr(4, env_len));
  Reader rest(payload.substr(4 + env_len));
  const std::uint32_t state_len = rest.u32();
  if (!envelope || !rest.ok() || state_len > payload.size() - 8 - env_len) {
    return std::nullopt;
  }
  auto state = decode_state(payload.substr(8 + env_len, state_len));
  if (!state || state->recipients.size() != envelope->recipients.size()) {
    return std::nullopt;
  }
  return MessageParts{std::move(*envelope), std::move(*state), 8ull + env_len + state_len};
}

MessageState initial_state(const mail::Envelope& envelope) {
  MessageState s;
  s.recipients.resize(envelope.recipients.size());
  return s;
}

} // namespace backstop::queue
