// FlowControl: how a log file tells the pipes feeding it to stop and start reading.
//
// Back-pressure instead of loss: when a file's queue passes its high-water mark, every reader
// feeding it stops reading, the pipe fills, and the app blocks in write() until the disk catches
// up. Readers count pauses, since one reader may feed two files (its own and a combined log).
#pragma once

namespace drove::logs {

class FlowControl {
 public:
  virtual ~FlowControl() = default;
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
};

}  // namespace drove::logs
