#pragma once
// Threading contract: the registrations are built on the control thread before the server starts;
// one ReflectionHandler per shard (rpc::ServiceDef), used only on that shard, holding the sessions
// of the streams that shard serves.
//
// gRPC server reflection served by percore itself, through the handler API like any other service,
// so every transport that serves percore's registrations (libgrpc's and percore's own) serves it:
// grpc.reflection.v1alpha.ServerReflection and grpc.reflection.v1.ServerReflection, one
// implementation (ReflectionSession over ReflectionAnswers) templated over the version. It
// describes what protobuf's generated pool holds (every .proto linked into the binary) and lists
// the service names it is given. It replaces libgrpc's reflection plugin, which could only serve
// over libgrpc (and must not be registered as well: two services of one name stop libgrpc).

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/rpc/service_def.h"
#include "services/reflection/reflection_session.h"
#include "services/reflection/reflection_versions.h"

namespace percore::reflection {

template <class Version>
class ReflectionHandler {
 public:
  using Session = ReflectionSession<Version>;

  explicit ReflectionHandler(std::shared_ptr<const std::vector<std::string>> services)
      : services_(std::move(services)) {}

  void ServerReflectionInfo(typename Session::Stream stream);
  // Ends every open stream (UNAVAILABLE once its answers are written): shutdown need not wait
  // out the grace period for a tool that keeps its reflection stream open.
  void OnDrain();

  size_t session_count() const { return sessions_.size(); }

 private:
  std::shared_ptr<const std::vector<std::string>> services_;
  uint64_t next_session_id_ = 1;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;  // open streams, for OnDrain
};

// The names list_services answers: `hosted` (every other service this server serves) and both
// reflection services, sorted.
std::vector<std::string> ReflectionServiceNames(const std::set<std::string>& hosted);

// The registrations of both versions, listing `services` (ReflectionServiceNames' result).
std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeReflectionServices(
    std::vector<std::string> services);

}  // namespace percore::reflection
