#pragma once
// Threading contract: Create() and Reload() on the control thread (start-up, SIGHUP); gRPC calls
// the fetcher on whichever thread runs a new connection's handshake (a shard polling its queue),
// and the hand-over between the two is one atomic pointer exchange, no lock. The object must
// outlive every grpc::Server it was added to (ServerHost keeps it until the server is gone).
//
// TLS server credentials for libgrpc whose certificate, key and client CA can be replaced while
// the server runs, without dropping a connection. gRPC 1.51's C core has exactly this hook: SSL
// server credentials made with a *certificate config fetcher*, which the security connector
// asks at every new handshake whether a new config is waiting (grpc_security.h). The C++ API
// does not expose it, so this class is a grpc::ServerCredentials whose AddPortToServer adds the
// port with those C credentials (grpc_server_add_http2_port). Connections already open keep the
// session they negotiated; every handshake after Reload() uses the new material.
//
// (grpc::experimental::FileWatcherCertificateProvider was the other candidate: it re-reads the
// files on its own timer, not on SIGHUP, and pushes whatever it reads, checked or not.)

#include <grpc/grpc_security.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tls/tls_material.h"

namespace percore::tls {

class ReloadableServerCredentials final : public grpc::ServerCredentials {
 public:
  // `material` must hold a certificate and key (LoadTlsMaterial checked them). With CA
  // certificates, clients must present a certificate those CAs signed (mutual TLS).
  explicit ReloadableServerCredentials(const TlsMaterial& material);
  ~ReloadableServerCredentials() override;

  // The next handshake uses `material` (already checked; its CA presence must match the
  // original's: mTLS is not turned on or off by a reload).
  void Reload(const TlsMaterial& material);
  bool requires_client_certificate() const { return require_client_cert_; }
  // Configs gRPC has taken (the first at AddPort, then one per reload picked up).
  int64_t configs_taken() const { return taken_.load(std::memory_order_relaxed); }

  // Auth metadata processors are not used by percore (the call chain authenticates).
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override;
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* self, grpc_ssl_server_certificate_config** config);
  static grpc_ssl_server_certificate_config* MakeConfig(const TlsMaterial& material);

  const bool require_client_cert_;
  // The config waiting for the next handshake (nullptr: unchanged); gRPC owns it once taken.
  std::atomic<grpc_ssl_server_certificate_config*> pending_;
  std::atomic<int64_t> taken_{0};
  grpc_server_credentials* c_credentials_ = nullptr;
};

}  // namespace percore::tls
