// ascii: the character classes of RFC 7208's ABNF (ALPHA, DIGIT), independent of the locale
// that <cctype> would consult.
#pragma once

namespace backstop::spf {

constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace backstop::spf
