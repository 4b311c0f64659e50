#include "services/reflection/reflection_service.h"

#include <utility>

namespace percore::reflection {

template <class Version>
void ReflectionHandler<Version>::ServerReflectionInfo(typename Session::Stream stream) {
  uint64_t id = next_session_id_++;
  auto session = std::make_shared<Session>(stream, services_, [this, id] { sessions_.erase(id); });
  stream.OnCancel([this, id] { sessions_.erase(id); });
  sessions_.emplace(id, session);
  session->Start();
}

template <class Version>
void ReflectionHandler<Version>::OnDrain() {
  std::map<uint64_t, std::weak_ptr<Session>> sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [id, weak] : sessions) {
    if (auto session = weak.lock()) session->End();
  }
}

template class ReflectionHandler<V1Alpha>;
template class ReflectionHandler<V1>;

namespace {

template <class Version>
std::shared_ptr<rpc::ServiceRegistration> MakeService(
    std::shared_ptr<const std::vector<std::string>> services) {
  using Handler = ReflectionHandler<Version>;
  auto def = std::make_shared<rpc::ServiceDef<Handler>>(
      rpc::FindServiceDescriptor(Version::kService),
      [services](runtime::Shard&) { return std::make_unique<Handler>(services); });
  def->Bidi("ServerReflectionInfo", &Handler::ServerReflectionInfo);
  return def;
}

}  // namespace

std::vector<std::string> ReflectionServiceNames(const std::set<std::string>& hosted) {
  std::set<std::string> names = hosted;
  names.insert(V1Alpha::kService);
  names.insert(V1::kService);
  return {names.begin(), names.end()};
}

std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeReflectionServices(
    std::vector<std::string> services) {
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(services));
  return {MakeService<V1Alpha>(shared), MakeService<V1>(shared)};
}

}  // namespace percore::reflection
