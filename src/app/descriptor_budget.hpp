// descriptor_budget: how many open files backstop needs besides its SMTP sessions, so that
// smtp.max_connections is clamped to what the open-files limit really leaves for sessions.
#pragma once

#include "app/config.hpp"

#include <cstddef>

namespace backstop::app {

// Measured with no session (2 event loops, ls /proc/PID/fd): 27, of which 12 are the
// epoll/eventfd/timerfd of the threads; the rest is stdio, the log, the state database
// (db, -wal, -shm), the spool (lock, directory, active segment), listener, control socket.
inline constexpr std::size_t fixed_descriptors = 64;
// Per event loop: its epoll, eventfd and timerfd, with room to spare.
inline constexpr std::size_t descriptors_per_loop = 4;
// Older spool segments still read by deliveries (8 GiB of queue at the default 64 MiB) and
// the control connections of the CLI.
inline constexpr std::size_t spool_and_control_descriptors = 128;

// Descriptors kept back from smtp.max_connections for a process with `event_loops` loops:
// the fixed ones, the loops, each loop's and the delivery loop's DNS sockets (UDP and TCP
// per server), every outgoing delivery and every pooled callout connection.
std::size_t reserved_descriptors(const Config& config, std::size_t event_loops);

} // namespace backstop::app
