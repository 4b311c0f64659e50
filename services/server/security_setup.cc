#include "services/server/security_setup.h"

#include <latch>

#include "core/observe/log.h"
#include "core/rpc/health_listener_interceptor.h"
#include "services/server/access_table.h"

namespace percore::server {

// --jwt-* and --peer-token-file: the authentication interceptor in front of every handler, and
// the token presented to peers; --partitions: the router that forwards calls for other
// partitions' keys, after the interceptors. False (after a message) when a key or token file is
// unusable.
bool ConfigureAuth(ServerFlags& flags, size_t shards, BuiltServices& built,
                   std::shared_ptr<const rpc::CallRouter> router,
                   const rpc::AuthInterceptor** auth_out) {
  Result<std::shared_ptr<const auth::JwtVerifier>> verifier = server::BuildJwtVerifier(flags.auth);
  Result<std::string> peer_authorization = server::PeerAuthorization(flags.auth);
  for (const Status& status : {verifier.status(), peer_authorization.status()}) {
    if (!status.ok()) {
      observe::Log(observe::LogLevel::kError, "percore-server: %s\n", status.message().c_str());
      return false;
    }
  }
  for (auto& peer : built.peers) peer->SetAuthorization(*peer_authorization);
  auto chain = std::make_shared<rpc::InterceptorChain>();
  if (router) chain->SetRouter(std::move(router));
  // --health-listen: that port's gate goes first, so a call there is not even authenticated.
  if (!flags.server.health_listen.empty()) {
    chain->Add(std::make_unique<rpc::HealthListenerInterceptor>());
  }
  if (*verifier) {
    auto auth =
        std::make_unique<rpc::AuthInterceptor>(*verifier, server::PercoreAccessPolicy(), shards);
    *auth_out = auth.get();  // lives in the chain, which the server options keep
    auth->TrustServiceIdentities(flags.tls.service_identities);
    chain->Add(std::move(auth));
    observe::Log(observe::LogLevel::kInfo, "percore-server: JWT authentication on (%zu key%s)\n",
                 (*verifier)->options().keys.size(),
                 (*verifier)->options().keys.size() == 1 ? "" : "s");
  }
  if (!*verifier && !flags.tls.service_identities.empty()) {
    observe::Log(observe::LogLevel::kError,
                 "percore-server: --tls-service-identity needs authentication on (--jwt-*): "
                 "without it every call is served anyway\n");
    return false;
  }
  if (!chain->empty() || chain->router() != nullptr) flags.server.interceptors = std::move(chain);
  return true;
}

// SIGHUP with --jwt-*: the key file(s) read again (a JWKS may have gained or lost keys); each
// shard takes the new verifier on its own thread and empties its cache of verified tokens. A file
// that does not load is refused with a log line and the current keys stay. Returns once every
// shard has the new keys.
void ReloadJwtKeys(const AuthFlags& flags, const rpc::AuthInterceptor& auth,
                   runtime::Runtime& runtime) {
  auto verifier = server::BuildJwtVerifier(flags);
  if (!verifier.ok()) {
    observe::Log(observe::LogLevel::kError,
                 "percore-server: SIGHUP: JWT key reload refused, keeping the current keys: %s\n",
                 verifier.message().c_str());
    return;
  }
  std::latch done(static_cast<std::ptrdiff_t>(runtime.size()));
  for (size_t i = 0; i < runtime.size(); ++i) {
    bool queued =
        runtime.SubmitTo(static_cast<runtime::ShardId>(i), [&auth, &done, keys = *verifier, i] {
          auth.ReplaceVerifier(i, keys);
          done.count_down();
        });
    if (!queued) done.count_down();
  }
  done.wait();
  observe::Log(observe::LogLevel::kInfo, "percore-server: SIGHUP: JWT keys reloaded (%zu key%s)\n",
               (*verifier)->options().keys.size(),
               (*verifier)->options().keys.size() == 1 ? "" : "s");
}

// SIGHUP with --peer-tls-*: the files read again; each peer's shards, and the cluster's member
// links, move to channels with the new credentials (calls in flight finish on the old ones). A
// bad file keeps the current ones.
void ReloadPeerCredentials(const TlsFlags& flags,
                           const std::vector<std::shared_ptr<remote::RemotePeer>>& peers,
                           cluster::MemberLinks* members, runtime::Runtime& runtime) {
  auto credentials = server::LoadPeerCredentials(flags);
  if (!credentials.ok()) {
    observe::Log(observe::LogLevel::kWarn,
                 "percore-server: SIGHUP: peer TLS reload refused, keeping the current "
                 "credentials: %s\n",
                 credentials.message().c_str());
    return;
  }
  for (const auto& peer : peers) peer->ReloadCredentials(*credentials, runtime);
  if (members != nullptr) members->ReloadCredentials(runtime, *credentials);
  observe::Log(
      observe::LogLevel::kInfo,
      "percore-server: SIGHUP: peer TLS credentials reloaded for new calls (%zu peer%s%s)\n",
      peers.size(), peers.size() == 1 ? "" : "s",
      members != nullptr ? " and the cluster's members" : "");
}

// --tls-*: the server's credentials (files checked now) into the server options; --peer-tls-*:
// TLS credentials for every --peer's channels and every cluster member's. False (after a message)
// when a file is unusable, or when a member serves TLS without --peer-tls-ca.
bool ConfigureTls(ServerFlags& flags, BuiltServices& built, cluster::MemberLinks* members) {
  auto material = server::LoadServerTls(flags.tls);
  if (!material.ok()) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n", material.message().c_str());
    return false;
  }
  flags.server.tls = *std::move(material);
  if (flags.server.tls) {
    observe::Log(observe::LogLevel::kInfo, "percore-server: TLS on (%s)%s\n",
                 tls::DescribeLeaf(flags.server.tls->cert_chain).c_str(),
                 flags.server.tls->ca_certs.empty()
                     ? ""
                     : ", client certificates required (--tls-client-ca)");
  }
  auto channel_credentials = server::LoadPeerCredentials(flags.tls);
  if (!channel_credentials.ok()) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n",
                 channel_credentials.message().c_str());
    return false;
  }
  if (members != nullptr && flags.server.tls && !*channel_credentials) {
    // The members serve TLS on the one port they dial each other on: a plaintext member channel
    // could never connect, every forwarded call would fail.
    observe::Log(observe::LogLevel::kError,
                 "percore-server: --tls-cert with --partitions needs --peer-tls-ca (and "
                 "--peer-tls-cert/--peer-tls-key when the members require client certificates "
                 "with --tls-client-ca): the members call each other over TLS\n");
    return false;
  }
  if (!*channel_credentials) return true;
  for (auto& remote : built.peers) remote->SetChannelCredentials(*channel_credentials);
  if (members != nullptr) {
    members->SetChannelCredentials(*channel_credentials);
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: calls to the cluster's members over TLS (--peer-tls-*)%s\n",
                 flags.tls.peer_cert_file.empty() ? "" : ", presenting --peer-tls-cert");
  }
  return true;
}

// --tls-* for the HTTP listeners (admin, gateway): an OpenSSL context offering HTTP/1.1 in
// ALPN, into `out` (left empty without --tls-cert). False (after a message) on a bad file.
bool MakeHttpTls(const TlsFlags& flags, tls::SslCtxPtr* out) {
  auto material = server::LoadServerTls(flags);
  if (!material.ok()) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n", material.message().c_str());
    return false;
  }
  if (!*material) return true;
  auto context = tls::MakeServerTlsContext(**material, tls::Alpn::kHttp11);
  if (!context.ok()) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n", context.message().c_str());
    return false;
  }
  *out = std::move(*context);
  return true;
}

}  // namespace percore::server
