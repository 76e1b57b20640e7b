// pipeline_slot: the current policy pipeline, replaced as a whole on reload (SIGHUP).
// A session takes a reference when it starts and keeps that snapshot, so a reload never
// changes the rules in the middle of a conversation and never drops a connection.
#pragma once

#include "policy/pipeline.hpp"

#include <memory>
#include <mutex>

namespace backstop::policy {

class PipelineSlot {
public:
  explicit PipelineSlot(std::shared_ptr<const Pipeline> pipeline)
      : pipeline_(std::move(pipeline)) {}

  std::shared_ptr<const Pipeline> get() const {
    std::lock_guard lock(mutex_);
    return pipeline_;
  }
  void set(std::shared_ptr<const Pipeline> pipeline) {
    std::lock_guard lock(mutex_);
    pipeline_ = std::move(pipeline);
  }

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Pipeline> pipeline_;
};

} // namespace backstop::policy
