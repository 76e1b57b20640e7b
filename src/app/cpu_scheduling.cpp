// cpu_scheduling: sched_setscheduler(2) for the calling thread.
#include "app/cpu_scheduling.hpp"

#include <cerrno>
#include <cstring>
#include <sched.h>
#include <string>

namespace backstop::app {

mail::Status use_cpu_scheduling(CpuScheduling policy) {
  const sched_param param{}; // priority 0: the only one SCHED_BATCH and SCHED_OTHER take
  const int kernel_policy = policy == CpuScheduling::Batch ? SCHED_BATCH : SCHED_OTHER;
  if (sched_setscheduler(0, kernel_policy, &param) != 0) {
    return mail::make_error("scheduling: sched_setscheduler: " + std::string(std::strerror(errno)));
  }
  return mail::Ok{};
}

} // namespace backstop::app
