// base64: message bytes through JSON without loss (JSON strings must be UTF-8; mail need
// not be). Thin wrappers over OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace backstop::admin {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace backstop::admin
