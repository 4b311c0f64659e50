#pragma once
// Threading contract: built on the main thread, then Run() on its own thread, which alone
// touches the thread's state until Run returns; the runner reads stats() and finished_at()
// after joining.
//
// One client thread of a load run, whatever its transport: LoadWorker (libgrpc's completion
// queue) or NativeLoadWorker (nghttp2 on epoll). The runner only starts, joins and merges them.

#include "tools/load/load_schedule.h"
#include "tools/load/run_stats.h"

namespace percore::load {

class LoadThread {
 public:
  virtual ~LoadThread() = default;
  // Returns when every slot of the thread is out of work.
  virtual void Run() = 0;
  virtual RunStats& stats() = 0;
  virtual Clock::time_point finished_at() const = 0;
};

}  // namespace percore::load
