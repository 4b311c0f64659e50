#pragma once
// Threading contract: Get() only from a shard thread of one Runtime (the first caller's); each
// shard touches only its own item, so no item is shared. Destroyed after that runtime stopped.
//
// One lazily made T per shard (Seastar's sharded<T>, built on first use): for objects built before
// the runtime exists, such as the service clients, that still want per-shard state (a channel, a
// stub, the calls in flight) without a lock on the request path.

#include <cassert>
#include <memory>
#include <mutex>
#include <vector>

#include "core/runtime/runtime.h"
#include "core/runtime/shard.h"

namespace percore::remote {

template <class T>
class PerShard {
 public:
  // This shard's T, made by make() (returning std::unique_ptr<T>) the first time.
  template <class Make>
  T& Get(runtime::Shard& shard, Make&& make) {
    // Sized once, by whichever shard comes first; later calls only read the vector.
    std::call_once(sized_, [&] {
      runtime_ = &shard.runtime();
      items_.resize(runtime_->size());
    });
    assert(&shard.runtime() == runtime_ && "PerShard used from two runtimes");
    std::unique_ptr<T>& item = items_[shard.id()];
    if (!item) item = make();
    return *item;
  }

  // Every item made so far, for the owner's destructor (after the shards have stopped).
  std::vector<std::unique_ptr<T>>& items() { return items_; }

 private:
  std::once_flag sized_;
  runtime::Runtime* runtime_ = nullptr;
  std::vector<std::unique_ptr<T>> items_;
};

}  // namespace percore::remote
