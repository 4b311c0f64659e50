#include "core/tls/reloadable_server_credentials.h"

#include <grpc/grpc.h>

namespace percore::tls {

ReloadableServerCredentials::ReloadableServerCredentials(const TlsMaterial& material)
    : require_client_cert_(!material.ca_certs.empty()), pending_(MakeConfig(material)) {
  grpc_ssl_server_credentials_options* options =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          require_client_cert_ ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          &ReloadableServerCredentials::Fetch, this);
  c_credentials_ = grpc_ssl_server_credentials_create_with_options(options);
}

ReloadableServerCredentials::~ReloadableServerCredentials() {
  if (c_credentials_ != nullptr) grpc_server_credentials_release(c_credentials_);
  if (auto* left = pending_.exchange(nullptr)) grpc_ssl_server_certificate_config_destroy(left);
}

grpc_ssl_server_certificate_config* ReloadableServerCredentials::MakeConfig(
    const TlsMaterial& material) {
  grpc_ssl_pem_key_cert_pair pair{material.private_key.c_str(), material.cert_chain.c_str()};
  // gRPC 1.51 asserts that a fetched config has root certificates even when client certificates
  // are not requested (ssl_security_connector.cc: config->pem_root_certs != nullptr). Without
  // mTLS the server's own chain stands in: the handshaker is made with SSL_VERIFY_NONE then, so
  // no CertificateRequest is sent and the roots are never used. Copies the strings.
  const std::string& roots = material.ca_certs.empty() ? material.cert_chain : material.ca_certs;
  return grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
}

void ReloadableServerCredentials::Reload(const TlsMaterial& material) {
  grpc_ssl_server_certificate_config* replaced = pending_.exchange(MakeConfig(material));
  // A reload not yet picked up by any handshake is simply superseded.
  if (replaced != nullptr) grpc_ssl_server_certificate_config_destroy(replaced);
}

grpc_ssl_certificate_config_reload_status ReloadableServerCredentials::Fetch(
    void* self, grpc_ssl_server_certificate_config** config) {
  auto* credentials = static_cast<ReloadableServerCredentials*>(self);
  grpc_ssl_server_certificate_config* next = credentials->pending_.exchange(nullptr);
  if (next == nullptr) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  credentials->taken_.fetch_add(1, std::memory_order_relaxed);
  *config = next;  // gRPC owns it now
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

int ReloadableServerCredentials::AddPortToServer(const std::string& addr, grpc_server* server) {
  return grpc_server_add_http2_port(server, addr.c_str(), c_credentials_);
}

}  // namespace percore::tls
