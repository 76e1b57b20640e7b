// asio_tokens: the completion token sessions use: awaitable, errors as a tuple value
// (never an exception across a coroutine). Asio 1.22 keeps as_tuple in experimental.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace backstop::smtp {

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

} // namespace backstop::smtp
