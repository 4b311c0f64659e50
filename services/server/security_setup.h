#pragma once
// Threading contract: called by main() on its own thread: the Configure* and Make* functions
// before the runtime starts, the Reload* ones on SIGHUP while it runs (they hand each shard its
// new state through the shard's mailbox).
//
// The security side of percore-server's start and SIGHUP: authentication (--jwt-*,
// --peer-token-file, --tls-service-identity) and TLS (--tls-*, --peer-tls-*) turned from flags
// into the server's interceptors and credentials, and reloaded.

#include <memory>
#include <string>
#include <vector>

#include "core/rpc/auth_interceptor.h"
#include "core/rpc/call_router.h"
#include "core/runtime/runtime.h"
#include "core/tls/server_tls_context.h"
#include "services/cluster/member_links.h"
#include "services/remote/remote_peer.h"
#include "services/server/server_flags.h"
#include "services/server/service_catalog.h"

namespace percore::server {

// --jwt-* and --peer-token-file: the authentication interceptor in front of every handler, and
// the token presented to peers; --partitions: the router that forwards calls for other
// partitions' keys, after the interceptors. False (after a message) when a key or token file is
// unusable.
bool ConfigureAuth(ServerFlags& flags, size_t shards, BuiltServices& built,
                   std::shared_ptr<const rpc::CallRouter> router,
                   const rpc::AuthInterceptor** auth_out);

// SIGHUP with --jwt-*: the key file(s) read again (a JWKS may have gained or lost keys); each
// shard takes the new verifier on its own thread and empties its cache of verified tokens. A file
// that does not load is refused with a log line and the current keys stay. Returns once every
// shard has the new keys.
void ReloadJwtKeys(const AuthFlags& flags, const rpc::AuthInterceptor& auth,
                   runtime::Runtime& runtime);

// SIGHUP with --peer-tls-*: the files read again; each peer's shards, and the cluster's member
// links (`members`, nullptr outside a cluster), move to channels with the new credentials (calls
// in flight finish on the old ones). A bad file keeps the current ones.
void ReloadPeerCredentials(const TlsFlags& flags,
                           const std::vector<std::shared_ptr<remote::RemotePeer>>& peers,
                           cluster::MemberLinks* members, runtime::Runtime& runtime);

// --tls-*: the server's credentials (files checked now) into the server options; --peer-tls-*:
// TLS credentials for every --peer's channels and every cluster member's (`members`, nullptr
// outside a cluster). False (after a message) when a file is unusable, or when a member serves
// TLS but was given no --peer-tls-ca to call the other members with.
bool ConfigureTls(ServerFlags& flags, BuiltServices& built, cluster::MemberLinks* members);

// --tls-* for the HTTP listeners (admin, gateway): an OpenSSL context offering HTTP/1.1 in
// ALPN, into `out` (left empty without --tls-cert). False (after a message) on a bad file.
bool MakeHttpTls(const TlsFlags& flags, tls::SslCtxPtr* out);

}  // namespace percore::server
