// percore-call: a grpcurl-like command-line client for any gRPC server (list, describe, call),
// sharing percore-load's descriptor, JSON and call code (tools/grpcdyn).
// Exit status: 0 on success, 1 on a non-OK status or when the server cannot be used, 2 for
// usage errors.

#include <cstdio>

#include "tools/call/call_options.h"
#include "tools/call/describe.h"
#include "tools/call/invoke.h"
#include "tools/grpcdyn/channel.h"
#include "tools/grpcdyn/proto_file_schema.h"
#include "tools/grpcdyn/reflection_schema.h"

namespace {

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "percore-call: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace percore;
  auto parsed = call::ParseCallOptions(argc, argv);
  if (!parsed.ok()) return Fail(2, parsed.error());
  const call::CallOptions& o = *parsed;
  if (o.help) {
    std::fputs(call::CallUsage().c_str(), stdout);
    return 0;
  }

  std::unique_ptr<grpcdyn::Schema> schema;
  if (!o.proto.empty()) {
    auto loaded = grpcdyn::LoadProtoFiles({o.proto}, o.import_paths);
    if (!loaded.ok()) return Fail(2, "--proto: " + loaded.error());
    schema = std::move(*loaded);
  }
  // list and describe from proto files need no server.
  bool needs_server = !schema || o.verb == "call";
  auto credentials = grpcdyn::ChannelCredentialsFrom(o.tls);
  if (!credentials.ok()) return Fail(2, credentials.error());
  auto channel = grpcdyn::MakeChannel(o.address, 0, *credentials);
  if (needs_server) {
    if (auto connected = grpcdyn::WaitForConnection(*channel, o.address, o.connect_timeout);
        !connected.ok()) {
      return Fail(1, connected.error());
    }
  }
  if (!schema) schema = grpcdyn::MakeReflectionSchema(channel, o.connect_timeout);

  if (o.verb == "call") return call::Invoke(channel, *schema, o);
  std::string name = o.args.empty() ? "" : o.args[0];
  auto text = o.verb == "list" ? call::List(*schema, name) : call::Describe(*schema, name);
  if (!text.ok()) return Fail(1, text.error());
  std::fputs(text->c_str(), stdout);
  return 0;
}
