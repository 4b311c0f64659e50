#include "tools/call/invoke.h"

#include <cstdio>
#include <string>

#include "tools/grpcdyn/message_codec.h"
#include "tools/grpcdyn/metadata.h"
#include "tools/grpcdyn/method_lookup.h"
#include "tools/grpcdyn/request_data.h"
#include "tools/grpcdyn/rpc_call.h"
#include "tools/grpcdyn/status_names.h"

namespace percore::call {
namespace {

using Multimap = std::multimap<grpc::string_ref, grpc::string_ref>;

void PrintMetadata(const char* title, const Multimap& metadata) {
  std::printf("\n%s\n", title);
  if (metadata.empty()) std::printf("(empty)\n");
  for (const auto& [key, value] : metadata) {
    std::printf("%.*s: %.*s\n", static_cast<int>(key.size()), key.data(),
                static_cast<int>(value.size()), value.data());
  }
}

// Prints what arrives; remembers the end.
class Printer : public grpcdyn::RpcCallObserver {
 public:
  Printer(grpcdyn::RpcCall& call, const grpcdyn::MessageCodec& codec, const CallOptions& options)
      : call_(call), codec_(codec), options_(options) {}

  void OnResponse(const grpc::ByteBuffer& message) override {
    // Headers arrive before the first message; print them where a reader expects them.
    if (options_.verbose && !printed_headers_) {
      PrintMetadata("Response headers received:", call_.context().GetServerInitialMetadata());
      std::printf("\nResponse contents:\n");
      printed_headers_ = true;
    }
    auto json = codec_.WireToJson(message, {!options_.compact, options_.emit_defaults});
    std::printf("%s\n", json.ok() ? json->c_str() : ("(" + json.error() + ")").c_str());
    std::fflush(stdout);
  }

  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_ = true;
  }

  bool done() const { return done_; }
  bool printed_headers() const { return printed_headers_; }
  const grpc::Status& status() const { return status_; }

 private:
  grpcdyn::RpcCall& call_;
  const grpcdyn::MessageCodec& codec_;
  const CallOptions& options_;
  bool printed_headers_ = false;
  bool done_ = false;
  grpc::Status status_;
};

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "percore-call: %s\n", message.c_str());
  return code;
}

}  // namespace

int Invoke(std::shared_ptr<grpc::Channel> channel, grpcdyn::Schema& schema,
           const CallOptions& options) {
  auto name = grpcdyn::ParseMethodName(options.args[0]);
  if (!name.ok()) return Fail(2, name.error());
  auto method = grpcdyn::FindMethod(schema, *name);
  if (!method.ok()) return Fail(1, method.error());
  auto data = grpcdyn::SplitRequestData(options.data);
  if (!data.ok()) return Fail(2, "-d: " + data.error());
  bool streams_requests = method->shape == grpcdyn::CallShape::kClientStreaming ||
                          method->shape == grpcdyn::CallShape::kBidiStreaming;
  if (!streams_requests && data->messages.size() > 1) {
    return Fail(2, "-d: " + method->descriptor->full_name() + " is " +
                       std::string(grpcdyn::CallShapeName(method->shape)) +
                       " and takes one request message, got an array of " +
                       std::to_string(data->messages.size()));
  }
  auto metadata = grpcdyn::ParseMetadata(options.metadata);
  if (!metadata.ok()) return Fail(2, "-m: " + metadata.error());

  grpcdyn::MessageCodec request_codec(method->descriptor->input_type());
  std::vector<grpc::ByteBuffer> requests;
  for (const std::string& json : data->messages) {
    auto wire = request_codec.JsonToWire(json);
    if (!wire.ok()) return Fail(2, "-d: " + wire.error());
    requests.push_back(std::move(*wire));
  }
  grpcdyn::MessageCodec response_codec(method->descriptor->output_type());

  if (options.verbose) {
    std::printf("\nResolved method descriptor:\n%s", method->descriptor->DebugString().c_str());
    std::printf("\nRequest metadata to send:\n");
    if (metadata->empty()) std::printf("(empty)\n");
    for (const auto& [key, value] : *metadata) std::printf("%s: %s\n", key.c_str(), value.c_str());
  }

  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpcdyn::RpcCall call(stub, cq);
  Printer printer(call, response_codec, options);
  grpc::ClientContext& context = call.NewContext();
  if (options.timeout.count() > 0) {
    context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  }
  for (const auto& [key, value] : *metadata) context.AddMetadata(key, value);
  grpcdyn::RpcCallOptions call_options;
  call_options.shape = method->shape;
  call_options.send_count = streams_requests ? requests.size() : 1;
  call.Start(
      method->path, call_options,
      [&requests](size_t index, grpc::ByteBuffer* out) { *out = requests[index]; }, &printer);
  while (!printer.done()) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    static_cast<grpcdyn::CqTag*>(tag)->Complete(ok);
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }

  const grpc::Status& status = printer.status();
  if (options.verbose) {
    if (!printer.printed_headers()) {
      PrintMetadata("Response headers received:", call.context().GetServerInitialMetadata());
    }
    PrintMetadata("Response trailers received:", call.context().GetServerTrailingMetadata());
    std::printf("Sent %zu request%s and received %zu response%s\n", call.messages_sent(),
                call.messages_sent() == 1 ? "" : "s", call.messages_received(),
                call.messages_received() == 1 ? "" : "s");
  }
  std::fflush(stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "ERROR: code=%s message=%s\n",
                 grpcdyn::StatusCodeName(status.error_code()).c_str(),
                 status.error_message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace percore::call
