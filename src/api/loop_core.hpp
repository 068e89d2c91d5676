// LoopCore: what a public drove::EventLoop owns — the libuv loop, the process's reaper, and the
// registry of library objects living on the loop, so that destroying the loop closes whatever
// the program left open (libuv handles must be closed before their loop).
#pragma once

#include <uv.h>

#include <memory>
#include <set>

#include "base/uv_handle.hpp"
#include "process/reaper.hpp"

namespace drove::detail {

// A library object with libuv handles; shutdown() closes them (idempotent).
class LoopResource {
 public:
  virtual ~LoopResource() = default;
  virtual void shutdown() = 0;
};

struct LoopCore {
  uv_loop_t loop{};
  std::unique_ptr<process::Reaper> reaper;
  // Keeps run() going while a child runs without any other handle (inherited stdio).
  UvHandle<uv_async_t> keep_alive;
  int live_children = 0;
  std::set<LoopResource*> resources;
  std::set<std::shared_ptr<LoopResource>> retained;  // kept alive by the loop (running children)
  bool stopped = false;

  void child_started();
  void child_reaped();
};

// Registers `r` for the lifetime of the registration object.
class LoopRegistration {
 public:
  LoopRegistration(LoopCore& core, LoopResource* r) : core_(&core), r_(r) { core.resources.insert(r); }
  LoopRegistration(const LoopRegistration&) = delete;
  LoopRegistration& operator=(const LoopRegistration&) = delete;
  ~LoopRegistration() {
    if (core_) core_->resources.erase(r_);
  }
  void release() { core_ = nullptr; }

 private:
  LoopCore* core_;
  LoopResource* r_;
};

}  // namespace drove::detail
