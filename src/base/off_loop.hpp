// run_off_loop: work that would hold the loop (reading /proc for 1,000 processes, parsing a
// 15 MiB request, writing and fsyncing a dump) runs on a libuv pool thread; its result comes
// back to the loop, where `done` runs. `work` must touch nothing the loop owns: it gets only
// what it captured by value. The pool threads are libuv's (UV_THREADPOOL_SIZE, 4 by default).
//
// `done` runs inside a loop_barrier. An owner that may be destroyed first captures a
// std::weak_ptr of a token it owns and returns early when it expired. Returns false (and runs
// nothing) when the pool refused the work: the caller does it inline or gives up.
#pragma once

#include <uv.h>

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "base/loop_barrier.hpp"

namespace drove {

template <class Work, class Done>
bool run_off_loop(uv_loop_t* loop, const char* what, Work work, Done done) {
  using Result = std::invoke_result_t<Work&>;
  struct Job {
    uv_work_t req{};
    const char* what;
    Work work;
    Done done;
    std::optional<Result> result;
    std::exception_ptr error;
  };
  auto job = std::make_unique<Job>(Job{{}, what, std::move(work), std::move(done), std::nullopt, nullptr});
  job->req.data = job.get();
  const int rc = uv_queue_work(
      loop, &job->req,
      [](uv_work_t* req) {  // a pool thread
        auto* j = static_cast<Job*>(req->data);
        try {
          j->result.emplace(j->work());
        } catch (...) {  // bad_alloc, say: rethrown on the loop, inside the barrier
          j->error = std::current_exception();
        }
      },
      [](uv_work_t* req, int) {  // the loop
        std::unique_ptr<Job> j(static_cast<Job*>(req->data));
        loop_barrier(j->what, [&j] {
          if (j->error) std::rethrow_exception(j->error);
          j->done(std::move(*j->result));
        });
      });
  if (rc != 0) return false;
  (void)job.release();  // owned by the request until its after-work callback
  return true;
}

}  // namespace drove
