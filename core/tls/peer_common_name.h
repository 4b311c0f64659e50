#pragma once
// Threading contract: a pure function of one connection's SSL; the thread that owns it.
//
// Who a TLS client is, by its certificate: the subject's common name of the client certificate
// the handshake verified (X509_V_OK), empty when none was presented, it did not verify, or the
// handshake is not done. One reading for every transport that serves TLS with OpenSSL (the
// native gRPC transport, core/net; the HTTP listeners, core/http), so `--tls-service-identity`
// (core/rpc/auth_interceptor.h) names the same certificate whichever port it came in on. libgrpc
// reads its own (`x509_common_name`, core/rpc/call_base.cc).
// Header-only: its users link OpenSSL already, and core/net does not link core/tls.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

namespace percore::tls {

inline std::string VerifiedPeerCommonName(const SSL* ssl) {
  if (ssl == nullptr || !SSL_is_init_finished(ssl)) return {};
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  char name[256];
  int length =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  return length > 0 ? std::string(name, static_cast<size_t>(length)) : std::string();
}

}  // namespace percore::tls
