#include "tools/load/run_stats.h"

#include "tools/grpcdyn/status_names.h"

namespace percore::load {

void RunStats::CountError(const std::string& text, uint64_t n) {
  auto it = errors_.find(text);
  if (it != errors_.end()) {
    it->second += n;
  } else if (errors_.size() < kMaxDistinctErrors) {
    errors_.emplace(text, n);
  } else {
    errors_[kOtherErrors] += n;
  }
}

void RunStats::Record(const CallOutcome& outcome) {
  latencies_.Record(outcome.latency);
  ++status_codes_[outcome.status.error_code()];
  if (!outcome.status.ok()) CountError(grpcdyn::GoErrorString(outcome.status), 1);
  messages_sent_ += outcome.messages_sent;
  messages_received_ += outcome.messages_received;
  bytes_received_ += outcome.bytes_received;
}

void RunStats::Merge(RunStats&& other) {
  latencies_.Merge(other.latencies_);
  for (const auto& [code, n] : other.status_codes_) status_codes_[code] += n;
  for (const auto& [text, n] : other.errors_) CountError(text, n);
  messages_sent_ += other.messages_sent_;
  messages_received_ += other.messages_received_;
  bytes_received_ += other.bytes_received_;
  details_.insert(details_.end(), std::make_move_iterator(other.details_.begin()),
                  std::make_move_iterator(other.details_.end()));
}

}  // namespace percore::load
