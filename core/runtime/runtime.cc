#include "core/runtime/runtime.h"

#include <latch>

#include "core/runtime/usable_cpus.h"

namespace percore::runtime {

Runtime::Runtime(RuntimeOptions options) : options_(options) {
  int count = options_.shards > 0 ? options_.shards : UsableCpuCount();
  shards_.reserve(count);
  for (int i = 0; i < count; ++i)
    shards_.push_back(std::make_unique<Shard>(*this, i, options_.loop));
}

Runtime::~Runtime() { Stop(); }

void Runtime::RunOnAllAndWait(const std::function<void(Shard&)>& fn) {
  assert(Shard::Current() == nullptr && "RunOnAllAndWait() would wait for its own shard");
  std::latch done(static_cast<std::ptrdiff_t>(shards_.size()));
  for (auto& s : shards_) {
    Shard* target = s.get();
    bool queued = target->Submit([&fn, &done, target] {
      fn(*target);
      done.count_down();
    });
    if (!queued) done.count_down();
  }
  done.wait();
}

void Runtime::Start(std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> server_queues) {
  assert(!running_);
  assert(server_queues.empty() || server_queues.size() == shards_.size());
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (server_queues.empty()) {
      shards_[i]->UsePlainQueue();
    } else {
      shards_[i]->UseServerQueue(std::move(server_queues[i]));
    }
  }
  std::vector<int> cpus = AllowedCpus();
  bool pin = options_.pin && cpus.size() >= shards_.size();
  for (size_t i = 0; i < shards_.size(); ++i) shards_[i]->StartThread(pin ? cpus[i] : -1);
  running_ = true;
}

void Runtime::Stop() {
  if (!running_) return;
  for (auto& s : shards_) s->RequestClose();
  for (auto& s : shards_) s->Join();
  running_ = false;
  // No shard thread runs now: what they left behind can be destroyed here.
  std::vector<std::unique_ptr<Task>> orphans;
  {
    std::lock_guard<std::mutex> lock(orphans_mutex_);
    orphans.swap(orphans_);
  }
  orphans.clear();
}

void Runtime::Adopt(std::unique_ptr<Task> orphan) {
  std::lock_guard<std::mutex> lock(orphans_mutex_);
  orphans_.push_back(std::move(orphan));
}

}  // namespace percore::runtime
