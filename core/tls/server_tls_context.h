#pragma once
// Threading contract: MakeServerTlsContext runs on the control thread (start-up, SIGHUP). An
// SSL_CTX is reference-counted by OpenSSL; each shard of the native transport holds its own
// reference and makes its connections' SSL objects from it on its own thread.
//
// The OpenSSL 3 server context of percore's own transport (core/net, --transport native): the
// checked certificate chain and key, TLS 1.2 at least (no renegotiation), ALPN "h2" required (a
// client that offers no h2 is refused with the no_application_protocol alert, as HTTP/2 over TLS
// wants, RFC 9113 §3.2), and with client CAs, a client certificate required and verified.

#include <openssl/ssl.h>

#include <memory>

#include "core/base/result.h"
#include "core/tls/tls_material.h"

namespace percore::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// What a client must offer in ALPN: "h2" (gRPC over HTTP/2: refused without it), or HTTP/1.1
// (core/http's servers: "http/1.1" chosen when offered; a client offering no ALPN is served).
enum class Alpn { kRequireH2, kHttp11 };

// An error names what OpenSSL refused (the material was checked already, so it is rare).
Result<SslCtxPtr> MakeServerTlsContext(const TlsMaterial& material, Alpn alpn = Alpn::kRequireH2);

}  // namespace percore::tls
