// answer_ttl: the lifetime of a DNS answer, read from the wire format: the smallest TTL
// of the records in its answer section (a CNAME on the way counts too). c-ares parses MX
// records for us but drops their TTLs; this reads only the fields it needs and bounds every
// read, since the bytes come from the network.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace backstop::dns {

// nullopt when the message is malformed or its answer section is empty. A TTL with the top
// bit set counts as 0 (RFC 2181 8).
std::optional<std::uint32_t> min_answer_ttl(std::span<const unsigned char> message);

} // namespace backstop::dns
