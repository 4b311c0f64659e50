#include "tools/load/load_worker.h"

#include "tools/grpcdyn/cq_tag.h"
#include "tools/grpcdyn/rpc_call.h"

namespace percore::load {
namespace {

// gRPC deadlines take system_clock; the schedule runs on steady_clock.
std::chrono::system_clock::time_point ToSystem(Clock::time_point t) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - Clock::now());
}

// How long AsyncNext may sleep before the worker looks at the clock and the interrupt flag.
constexpr auto kPollInterval = std::chrono::milliseconds(20);

}  // namespace

class LoadWorker::Slot : public grpcdyn::RpcCallObserver {
 public:
  Slot(LoadWorker& worker, grpc::GenericStub& stub) : worker_(worker), call_(stub, worker.cq_) {
    const LoadOptions& o = *worker.plan_.options;
    options_.shape = worker.plan_.shape;
    bool streams_requests = options_.shape == grpcdyn::CallShape::kClientStreaming ||
                            options_.shape == grpcdyn::CallShape::kBidiStreaming;
    options_.send_count = streams_requests && o.stream_call_count > 0
                              ? o.stream_call_count
                              : (streams_requests ? worker.requests_.size() : 1);
    options_.send_interval = o.stream_interval;
    options_.receive_limit =
        options_.shape == grpcdyn::CallShape::kServerStreaming ? o.stream_call_count : 0;
    // Unary and server-streaming calls take the -d array round-robin by call number; client
    // and bidi streams send it in order, message by message.
    requests_ = [this, streams_requests](size_t index, grpc::ByteBuffer* out) {
      const auto& all = worker_.requests_;
      *out = all[(streams_requests ? index : ticket_.number) % all.size()];
    };
  }

  // Claims the next ticket and starts (or parks) its call; goes idle when there is none.
  void Next() {
    if (worker_.book_.Claim(this, &ticket_)) StartCall();
  }

  void StartCall() {
    const LoadOptions& o = *worker_.plan_.options;
    grpc::ClientContext& context = call_.NewContext();
    if (o.timeout.count() > 0) {
      context.set_deadline(std::chrono::system_clock::now() + o.timeout);
    }
    for (const auto& [key, value] : worker_.plan_.metadata) context.AddMetadata(key, value);
    in_call_ = true;
    call_.Start(worker_.plan_.path, options_, requests_, this);
  }

  // Ends the call in flight, if any (--duration-stop close or ignore, SIGINT).
  void Stop() {
    stopped_ = true;
    if (in_call_) call_.Cancel();
  }

  Clock::time_point due() const { return ticket_.due; }

  void OnResponse(const grpc::ByteBuffer&) override {}

  void OnDone(const grpc::Status& status) override {
    in_call_ = false;
    CallOutcome outcome;
    outcome.latency = Clock::now() - ticket_.due;
    outcome.status = status;
    outcome.messages_sent = call_.messages_sent();
    outcome.messages_received = call_.messages_received();
    outcome.bytes_received = call_.bytes_received();
    worker_.book_.Record(ticket_, outcome, stopped_);
    Next();
  }

 private:
  LoadWorker& worker_;
  grpcdyn::RpcCall call_;
  grpcdyn::RpcCallOptions options_;
  grpcdyn::RequestFn requests_;
  Ticket ticket_;
  bool in_call_ = false;
  bool stopped_ = false;
};

LoadWorker::LoadWorker(const LoadPlan& plan, LoadSchedule& schedule,
                       const std::atomic<bool>& interrupted, size_t first_slot, size_t slot_count,
                       int64_t unix_start_ns)
    : plan_(plan),
      schedule_(schedule),
      interrupted_(interrupted),
      requests_(plan.requests),
      book_(schedule, *plan.options, unix_start_ns) {
  for (const auto& channel : plan.channels) {
    stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  for (size_t i = 0; i < slot_count; ++i) {
    size_t connection = (first_slot + i) % stubs_.size();
    slots_.push_back(std::make_unique<Slot>(*this, *stubs_[connection]));
  }
}

LoadWorker::~LoadWorker() = default;

void LoadWorker::StartDueSlots() {
  std::optional<Clock::time_point> next = book_.StartDue();
  if (next && waker_ && *next != waker_armed_for_) {
    waker_armed_for_ = *next;
    waker_->WakeAt(waker_armed_for_);
  }
}

void LoadWorker::OnWake(bool) { StartDueSlots(); }

void LoadWorker::StopIfDue() {
  if (!book_.StopIfDue(interrupted_.load(std::memory_order_relaxed))) return;
  for (auto& slot : slots_) slot->Stop();
}

void LoadWorker::Run() {
  book_.Begin(slots_.size());
  if (plan_.options->rps > 0) waker_ = std::make_unique<PreciseWaker>(cq_, wake_tag_);
  for (auto& slot : slots_) slot->Next();
  while (book_.active()) {
    StartDueSlots();
    auto wake = Clock::now() + kPollInterval;
    if (schedule_.timed() && !book_.stopping()) wake = std::min(wake, schedule_.end());
    void* tag = nullptr;
    bool ok = false;
    auto got = cq_.AsyncNext(&tag, &ok, ToSystem(wake));
    if (got == grpc::CompletionQueue::GOT_EVENT) static_cast<grpcdyn::CqTag*>(tag)->Complete(ok);
    if (got == grpc::CompletionQueue::SHUTDOWN) break;
    StopIfDue();
  }
  finished_at_ = Clock::now();
  if (waker_) waker_->Stop();
  cq_.Shutdown();
  // Only posted wake-ups can be left (no slot has an operation outstanding): completing them
  // frees them and finds nothing parked.
  void* tag = nullptr;
  bool ok = false;
  while (cq_.Next(&tag, &ok)) static_cast<grpcdyn::CqTag*>(tag)->Complete(ok);
}

}  // namespace percore::load
