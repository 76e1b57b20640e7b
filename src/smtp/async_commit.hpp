// async_commit: awaits the spool's group commit from a session coroutine. The spool calls
// back on its committer thread; the result is posted to the session's own event loop.
#pragma once

#include "queue/spool.hpp"

#include <asio.hpp>
#include <memory>

namespace backstop::smtp {

template <typename Token>
auto async_commit(queue::Spool& spool, mail::QueueId id, mail::Envelope envelope,
                  queue::BodyBuffer body, Token&& token) {
  return asio::async_initiate<Token, void(queue::CommitResult)>(
      [&spool, id](auto handler, mail::Envelope env, queue::BodyBuffer buf) {
        auto executor = asio::get_associated_executor(handler);
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        spool.submit(id, std::move(env), std::move(buf),
                     [shared, executor](queue::CommitResult result) {
                       asio::post(executor, [shared, result = std::move(result)]() mutable {
                         (*shared)(std::move(result));
                       });
                     });
      },
      token, std::move(envelope), std::move(body));
}

} // namespace backstop::smtp
