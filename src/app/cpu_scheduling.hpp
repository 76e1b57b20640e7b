// cpu_scheduling: the kernel scheduling policy the server's threads run under. backstop is
// a throughput server: under SCHED_BATCH a thread that is woken (the queue committer woken
// by a session loop, a loop woken by its peer) does not preempt the one running, so a
// burst of work is finished before the switch (sched(7)). Threads started afterwards
// inherit the policy; no privilege is needed.
#pragma once
#include "mail/result.hpp"

namespace backstop::app {

enum class CpuScheduling { Batch, Normal };

// Sets the calling thread's policy (call it before any other thread starts).
mail::Status use_cpu_scheduling(CpuScheduling policy);

} // namespace backstop::app
