#include "core/durability/retention_sweep.h"

#include <algorithm>
#include <memory>

namespace percore::durability {

namespace {

struct Sweep {
  runtime::Shard& shard;
  std::chrono::seconds retention;
  std::function<bool(int64_t)> slice;
  int64_t cutoff = 0;

  std::chrono::nanoseconds Interval() const {
    return std::clamp<std::chrono::nanoseconds>(retention / 4, std::chrono::milliseconds(100),
                                                std::chrono::seconds(60));
  }
  static void Begin(const std::shared_ptr<Sweep>& self) {
    self->cutoff = RetentionCutoff(self->retention);
    Step(self);
  }
  static void Step(const std::shared_ptr<Sweep>& self) {
    if (self->slice(self->cutoff)) {
      self->shard.Submit([self] { Step(self); });  // the next slice, behind the requests in hand
    } else {
      self->shard.RunAfter(self->Interval(), [self] { Begin(self); });
    }
  }
};

}  // namespace

int64_t RetentionCutoff(std::chrono::seconds retention) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch() - retention)
      .count();
}

void StartRetentionSweep(runtime::Shard& shard, std::chrono::seconds retention,
                         std::function<bool(int64_t cutoff)> slice) {
  if (retention.count() <= 0) return;
  auto sweep = std::make_shared<Sweep>(Sweep{shard, retention, std::move(slice)});
  shard.RunAfter(sweep->Interval(), [sweep] { Sweep::Begin(sweep); });
}

void StartJournaledRetentionSweep(
    runtime::Shard& shard, std::chrono::seconds retention, StoreJournal& journal,
    uint32_t drop_type,
    std::function<bool(int64_t cutoff, std::vector<std::string>* dropped)> forget) {
  StartRetentionSweep(shard, retention,
                      [&journal, drop_type, forget = std::move(forget)](int64_t cutoff) {
                        if (!journal.CheckWritable().ok()) return false;  // the next sweep
                        std::vector<std::string> dropped;
                        const bool more = forget(cutoff, &dropped);
                        for (const std::string& key : dropped) journal.Log(drop_type, key);
                        return more;
                      });
}

}  // namespace percore::durability
