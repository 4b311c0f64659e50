#include "tools/grpcdyn/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <fstream>
#include <sstream>
#include <tuple>

namespace percore::grpcdyn {
namespace {

// A fail-fast call on a channel in TRANSIENT_FAILURE fails at once with the channel's last
// connection error, which is the only place gRPC C++ exposes it. The method does not exist; if
// the channel recovered meanwhile, the server answers UNIMPLEMENTED and we are connected.
grpc::Status ProbeConnection(grpc::Channel& channel) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, "/percore.tools.ConnectProbe/Probe", request, &cq);
  call->StartCall();
  int tag = 0;
  call->Finish(&response, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  cq.Next(&got, &ok);
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
  return status;
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int connection_index,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  // Subchannels are shared between channels whose arguments are equal; a distinct argument per
  // connection, and a channel-local pool, keep them apart.
  args.SetInt("percore.tools.connection_index", connection_index);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(
      address, credentials ? std::move(credentials) : grpc::InsecureChannelCredentials(), args);
}

void AddTlsFlags(FlagParser& parser, TlsFlags& flags) {
  parser.AddString({"--cacert"}, "FILE",
                   "TLS: trust these PEM CA certificates for the server's certificate\n"
                   "(default: plaintext)",
                   &flags.cacert);
  parser.AddString({"--cert"}, "FILE", "TLS: client certificate (PEM), for mutual TLS",
                   &flags.cert);
  parser.AddString({"--key"}, "FILE", "TLS: the client certificate's private key (PEM)",
                   &flags.key);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFrom(const TlsFlags& flags) {
  if (flags.cacert.empty()) {
    if (!flags.cert.empty() || !flags.key.empty()) {
      return Error{
          "--cert and --key need --cacert (the CA the server's certificate is checked with)"};
    }
    return std::shared_ptr<grpc::ChannelCredentials>();
  }
  if (flags.cert.empty() != flags.key.empty()) return Error{"--cert and --key go together"};
  auto read = [](const std::string& flag, const std::string& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    if (!(in && text << in.rdbuf())) return Error{flag + " " + path + ": cannot be read"};
    return text.str();
  };
  grpc::SslCredentialsOptions options;
  for (auto [flag, path, target] : {std::tuple{"--cacert", &flags.cacert, &options.pem_root_certs},
                                    std::tuple{"--cert", &flags.cert, &options.pem_cert_chain},
                                    std::tuple{"--key", &flags.key, &options.pem_private_key}}) {
    if (path->empty()) continue;
    auto text = read(flag, *path);
    if (!text.ok()) return std::move(text).TakeError();
    *target = std::move(*text);
  }
  return grpc::SslCredentials(options);
}

Status WaitForConnection(grpc::Channel& channel, const std::string& address,
                         std::chrono::nanoseconds timeout) {
  auto deadline = std::chrono::system_clock::now() + timeout;
  while (true) {
    grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) return OkStatus();
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      grpc::Status probe = ProbeConnection(channel);
      if (probe.error_code() != grpc::StatusCode::UNAVAILABLE &&
          probe.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return OkStatus();
      }
      return Error{"cannot connect to " + address + ": " + probe.error_message()};
    }
    if (!channel.WaitForStateChange(state, deadline)) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
      return Error{"cannot connect to " + address + ": not connected within " + std::to_string(ms) +
                   " ms"};
    }
  }
}

}  // namespace percore::grpcdyn
