// RollingReload: the order of one app's zero-downtime reload, apart from the processes. Slots
// (instance ids) are replaced in batches of `batch_size`: the next batch begins when every
// replacement of the current one is ready. A replacement that fails aborts the reload (the
// previous processes keep serving). The supervisor does the work through Host: launching a
// replacement beside a slot's process, starting a slot that does not run, and abandoning the
// replacements of an aborted batch; it reports back with ready(), failed() and forget().
//
// Ids, not pointers: a slot deleted or stopped while the reload runs is forgotten, and a slot
// whose replacement was in flight no longer holds the reload (it used to wait forever, and
// every later reload of the app was refused as busy).
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace drove::supervisor {

class RollingReload {
 public:
  // What a slot needs when its turn comes.
  enum class Turn {
    replace,  // it runs: a replacement is launched beside it
    start,    // it is stopped or errored: started the usual way (nothing to hand over)
    skip,     // it is already queued to start (it starts with the new spec anyway), or gone
  };
  struct Host {
    std::function<Turn(int id)> turn_of;
    // Launches the slot's replacement; false when it could not start (why: in the message).
    std::function<bool(int id, std::string& why)> launch_replacement;
    std::function<void(int id)> start;
    // The reload was aborted: the slot's replacement, if any, goes.
    std::function<void(int id)> abandon_replacement;
  };
  struct Outcome {
    bool ok = true;
    int failed_id = -1;  // the slot whose replacement failed
    std::string why;     // why it failed
  };
  using Done = std::function<void(const Outcome&)>;

  RollingReload(std::vector<int> ids, int batch_size, Host host, Done done);

  // Begins the first batch. `done` may be called from here (nothing to replace, a failure).
  void begin();
  // The slot's replacement is ready and now serves; the next batch begins once the whole
  // current batch is.
  void ready(int id);
  // The slot's replacement failed (crashed, not ready in time): the reload is aborted.
  void failed(int id, std::string why);
  // These slots are being stopped or deleted: they are not to be reloaded any more. All at once,
  // so that the next batch does not launch a replacement for a slot about to be stopped.
  void forget(const std::vector<int>& ids);

  [[nodiscard]] bool active() const { return active_; }
  [[nodiscard]] bool in_flight(int id) const;
  [[nodiscard]] int batch_size() const { return batch_size_; }

 private:
  void next_batch();
  void finish(const Outcome& outcome);

  std::deque<int> queue_;       // slots still to replace
  std::vector<int> in_flight_;  // slots of the current batch whose replacement is not ready yet
  int batch_size_;
  Host host_;
  Done done_;
  bool active_ = false;
};

}  // namespace drove::supervisor
