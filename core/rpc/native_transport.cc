#include "core/rpc/native_transport.h"

#include <chrono>

#include "core/net/stream.h"
#include "core/rpc/byte_call.h"
#include "core/runtime/shard.h"

namespace percore::rpc {
namespace {

// A ByteCall over one net::Stream. References: its own as the stream's observer (released at
// the stream's OnDone, which core/net delivers exactly once) and the typed call's (released
// when the call object is freed, possibly later: handles may outlive the stream). It holds the
// stream for its whole life, so metadata and peer stay readable.
class NetByteCall final : public ByteCall, public net::StreamObserver {
 public:
  explicit NetByteCall(net::Stream& stream) : stream_(stream) {
    stream_.Ref();
    stream_.SetObserver(this);
    runtime::Clock::time_point due = stream_.deadline();
    if (due != runtime::Clock::time_point::max()) {
      // The handler's view is the system clock (what libgrpc's ServerContext gives).
      deadline_ = std::chrono::system_clock::now() +
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      due - runtime::Clock::now());
    }
  }

  void Ref() override { ++refs_; }
  void Unref() override {
    if (--refs_ == 0) delete this;
  }
  void SetSink(ByteCallSink* sink) override { sink_ = sink; }

  std::optional<std::string_view> metadata(std::string_view key) const override {
    return stream_.metadata(key);
  }
  bool metadata_repeated(std::string_view key) const override {
    return stream_.metadata_repeated(key);
  }
  std::optional<std::string_view> metadata_single(std::string_view key,
                                                  bool* repeated) const override {
    return stream_.metadata_single(key, repeated);
  }
  std::chrono::system_clock::time_point deadline() const override { return deadline_; }
  std::string_view peer() const override { return stream_.peer(); }
  std::string_view peer_certificate_name() const override {
    return stream_.peer_certificate_name();
  }
  void Pause() override { stream_.Pause(); }
  void Resume() override { stream_.Resume(); }
  void AddInitialMetadata(std::string_view key, std::string_view value) override {
    stream_.AddInitialMetadata(key, value);
  }
  void SendInitialMetadata() override { stream_.SendInitialMetadata(); }
  bool Write(std::string_view message) override { return stream_.Write(message); }
  bool writable() const override { return stream_.writable(); }
  void RequestWritable() override { stream_.RequestWritable(); }
  void AddTrailingMetadata(std::string_view key, std::string_view value) override {
    stream_.AddTrailingMetadata(key, value);
  }
  void Finish(StatusCode code, std::string_view message) override { stream_.Finish(code, message); }
  void EndNow(StatusCode code, std::string_view message) override { stream_.EndNow(code, message); }

  // net::StreamObserver: forwarded to the typed call.
  void OnMessage(net::Stream&, std::string_view message) override {
    if (sink_ != nullptr) sink_->OnBytes(message);
  }
  void OnHalfClose(net::Stream&) override {
    if (sink_ != nullptr) sink_->OnHalfClose();
  }
  void OnCancel(net::Stream&) override {
    if (sink_ != nullptr) sink_->OnCancel();
  }
  void OnWritable(net::Stream&) override {
    if (sink_ != nullptr) sink_->OnWritable();
  }
  void OnDone(net::Stream&) override {
    Ref();  // the sink may drop the typed call's reference
    if (ByteCallSink* sink = std::exchange(sink_, nullptr)) sink->OnDone();
    stream_.SetObserver(nullptr);
    --refs_;  // the observer's own (the one taken above still holds)
    Unref();
  }

 private:
  ~NetByteCall() { stream_.Unref(); }

  net::Stream& stream_;
  int refs_ = 1;  // the observer's own, until OnDone
  ByteCallSink* sink_ = nullptr;
  std::chrono::system_clock::time_point deadline_ = std::chrono::system_clock::time_point::max();
};

}  // namespace

// One per shard. Dispatch() finds the entry and OnStream() — which core/net calls next, on the
// same thread, for the same stream (stream.cc: OnHeadersDone) — starts it, so the found entry
// is carried from one to the other in `entry_` instead of a handler object per method.
class NativeDispatcher::ShardHandler final : public net::MethodHandler {
 public:
  explicit ShardHandler(const CallLimits& limits) : limits_(limits) {}
  void set_entry(const MethodEntry* entry) { entry_ = entry; }
  void OnStream(net::Stream& stream) override {
    const MethodEntry* entry = std::exchange(entry_, nullptr);
    auto* bytes = new NetByteCall(stream);
    if (entry == nullptr) {  // not reached: Dispatch() found it
      bytes->Finish(StatusCode::kInternal, "no method");
      return;
    }
    entry->StartBytes(*bytes, limits_);
  }

 private:
  const CallLimits& limits_;
  const MethodEntry* entry_ = nullptr;
};

NativeDispatcher::NativeDispatcher(const std::vector<MethodTable>& tables, const CallLimits& limits)
    : tables_(tables) {
  for (size_t i = 0; i < tables.size(); ++i) {
    handlers_.push_back(std::make_unique<ShardHandler>(limits));
  }
}

NativeDispatcher::~NativeDispatcher() = default;

net::MethodHandler* NativeDispatcher::Dispatch(std::string_view path) {
  runtime::ShardId shard = runtime::Shard::Current()->id();
  const MethodEntry* entry = tables_[shard].Find(path);
  if (entry == nullptr) return nullptr;
  ShardHandler* handler = handlers_[shard].get();
  handler->set_entry(entry);
  return handler;
}

}  // namespace percore::rpc
