#include "tools/load/native_load_worker.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>

#include "tools/load/native_call.h"

namespace percore::load {
namespace {

// How long epoll_wait may sleep before the worker looks at the clock and the interrupt flag.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr int kMaxEvents = 64;

}  // namespace

class NativeLoadWorker::Slot : public NativeCallObserver {
 public:
  Slot(NativeLoadWorker& worker, NativeEndpoint& endpoint)
      : worker_(worker), endpoint_(endpoint), call_(this) {
    const LoadOptions& o = *worker.plan_.options;
    unary_ = worker.plan_.shape == grpcdyn::CallShape::kUnary;
    receive_limit_ = unary_ ? 0 : o.stream_call_count;
  }

  // Claims the next ticket and starts (or parks) its call; goes idle when there is none.
  void Next() {
    if (worker_.book_.Claim(this, &ticket_)) StartCall();
  }

  void StartCall() {
    call_.Reset(receive_limit_);
    std::string error;
    NativeConnection* connection = endpoint_.Usable(&error);
    // Unary and server-streaming calls take the -d array round-robin by call number.
    if (connection == nullptr || !connection->Start(call_, ticket_.number)) {
      if (error.empty()) error = "the connection cannot take another stream";
      call_.Finish(grpc::StatusCode::UNAVAILABLE, error);
      return;
    }
    const auto timeout = worker_.plan_.options->timeout;
    if (timeout.count() > 0) {
      deadline_ = Clock::now() + timeout;
      worker_.next_deadline_ = std::min(worker_.next_deadline_, deadline_);
    }
  }

  // Ends the call in flight, if any (--duration-stop close or ignore, SIGINT).
  void Stop() {
    stopped_ = true;
    if (call_.in_flight()) {
      call_.connection()->Cancel(call_, grpc::StatusCode::CANCELLED, "CANCELLED");
    }
  }

  // Resets the call if its deadline has passed; returns its deadline if it is still running.
  Clock::time_point ExpireIfDue(Clock::time_point now) {
    if (!call_.in_flight() || worker_.plan_.options->timeout.count() == 0) {
      return Clock::time_point::max();
    }
    if (deadline_ > now) return deadline_;
    call_.connection()->Cancel(call_, grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
    return Clock::time_point::max();
  }

  Clock::time_point due() const { return ticket_.due; }

  void OnCallDone() override {
    CallOutcome outcome;
    outcome.latency = Clock::now() - ticket_.due;
    outcome.status = call_.status();
    outcome.messages_sent = 1;
    // As libgrpc's unary calls: a response counts only when the call succeeded.
    if (!unary_ || outcome.status.ok()) {
      outcome.messages_received = call_.messages_received();
      outcome.bytes_received = call_.bytes_received();
    }
    worker_.book_.Record(ticket_, outcome, stopped_);
    worker_.ready_.push_back(this);
  }

 private:
  NativeLoadWorker& worker_;
  NativeEndpoint& endpoint_;
  NativeCall call_;
  bool unary_ = true;
  size_t receive_limit_ = 0;
  Ticket ticket_;
  Clock::time_point deadline_{};
  bool stopped_ = false;
};

NativeLoadWorker::NativeLoadWorker(const LoadPlan& plan, LoadSchedule& schedule,
                                   const std::atomic<bool>& interrupted, size_t slot_count,
                                   size_t connection_count, int64_t unix_start_ns)
    : plan_(plan),
      schedule_(schedule),
      interrupted_(interrupted),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      request_(plan),
      book_(schedule, *plan.options, unix_start_ns) {
  for (size_t i = 0; i < std::max<size_t>(connection_count, 1); ++i) {
    endpoints_.push_back(std::make_unique<NativeEndpoint>(epoll_fd_, request_, plan.options->host,
                                                          plan.options->connect_timeout));
  }
  for (size_t i = 0; i < slot_count; ++i) {
    slots_.push_back(std::make_unique<Slot>(*this, *endpoints_[i % endpoints_.size()]));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the timer; connections carry their own pointer
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &event);
}

NativeLoadWorker::~NativeLoadWorker() {
  for (auto& endpoint : endpoints_) endpoint->CloseAll();
  close(timer_fd_);
  close(epoll_fd_);
}

void NativeLoadWorker::RunReady() {
  // Only the slots that finished before this round: one that fails at once (no connection)
  // is started again next round, after the clock and the interrupt flag have been looked at.
  running_.swap(ready_);
  for (Slot* slot : running_) slot->Next();
  running_.clear();
}

void NativeLoadWorker::StartDueSlots() {
  if (std::optional<Clock::time_point> next = book_.StartDue()) ArmTimer(*next);
}

void NativeLoadWorker::ArmTimer(Clock::time_point when) {
  if (when == timer_armed_for_) return;
  timer_armed_for_ = when;
  auto ns = std::chrono::nanoseconds(when.time_since_epoch()).count();
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void NativeLoadWorker::ExpireDeadlines(Clock::time_point now) {
  if (now < next_deadline_) return;
  // All calls share one timeout, so this scan runs about once per timeout, not per call.
  next_deadline_ = Clock::time_point::max();
  for (auto& slot : slots_) next_deadline_ = std::min(next_deadline_, slot->ExpireIfDue(now));
}

void NativeLoadWorker::StopIfDue() {
  if (!book_.StopIfDue(interrupted_.load(std::memory_order_relaxed))) return;
  for (auto& slot : slots_) slot->Stop();
}

int NativeLoadWorker::WaitMillis(Clock::time_point now) const {
  if (!ready_.empty()) return 0;
  auto wake = now + kPollInterval;
  if (schedule_.timed() && !book_.stopping()) wake = std::min(wake, schedule_.end());
  wake = std::min(wake, next_deadline_);
  if (wake <= now) return 0;
  // Rounded up: waking early would only go round the loop again.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
}

void NativeLoadWorker::Run() {
  book_.Begin(slots_.size());
  for (auto& slot : slots_) slot->Next();
  epoll_event events[kMaxEvents];
  while (book_.active()) {
    RunReady();
    StartDueSlots();
    for (auto& endpoint : endpoints_) endpoint->Flush();
    if (!book_.active()) break;
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, WaitMillis(Clock::now()));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t expirations = 0;
        [[maybe_unused]] auto r = read(timer_fd_, &expirations, sizeof expirations);
        timer_armed_for_ = {};
        continue;
      }
      static_cast<NativeConnection*>(events[i].data.ptr)->OnEvents(events[i].events);
    }
    ExpireDeadlines(Clock::now());
    StopIfDue();
  }
  finished_at_ = Clock::now();
  for (auto& endpoint : endpoints_) endpoint->CloseAll();
}

}  // namespace percore::load
