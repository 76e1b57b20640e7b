// dot_stuffer: the sending side of RFC 5321 4.5.2: turns stored message bytes (CRLF lines)
// into DATA wire form: a line starting with "." gets another "."; the text always ends
// with CRLF before the terminating ".CRLF". Pure function; the inverse of data_reader.
#pragma once

#include <string>
#include <string_view>

namespace backstop::smtp {

// Appends the wire form of message, including the final ".\r\n", to out.
void dot_stuff(std::string_view message, std::string& out);

} // namespace backstop::smtp
