#include "services/server/tls_flags.h"

namespace percore::server {

std::optional<bool> ParseTlsFlag(std::string_view arg,
                                 const std::function<std::optional<std::string>()>& take_value,
                                 TlsFlags* flags, std::string* error) {
  std::string* target = nullptr;
  if (arg == "--tls-cert") target = &flags->cert_file;
  if (arg == "--tls-key") target = &flags->key_file;
  if (arg == "--tls-client-ca") target = &flags->client_ca_file;
  if (arg == "--health-listen") target = &flags->health_listen;
  if (arg == "--peer-tls-ca") target = &flags->peer_ca_file;
  if (arg == "--peer-tls-cert") target = &flags->peer_cert_file;
  if (arg == "--peer-tls-key") target = &flags->peer_key_file;
  if (arg == "--tls-service-identity") {
    std::optional<std::string> value = take_value();
    if (!value) return false;
    if (value->empty()) {
      *error = "--tls-service-identity wants a certificate common name";
      return false;
    }
    flags->service_identities.push_back(*value);
    return true;
  }
  if (target == nullptr) return std::nullopt;
  std::optional<std::string> value = take_value();
  if (!value) return false;
  if (value->empty()) {
    *error = std::string(arg) + " wants a value";
    return false;
  }
  if (arg == "--health-listen") {
    size_t colon = value->rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
      std::string digits = value->substr(colon + 1);
      if (!digits.empty() && digits.size() <= 5 &&
          digits.find_first_not_of("0123456789") == std::string::npos) {
        port = std::stoi(digits);
      }
    }
    if (port < 0 || port > 65535) {
      *error =
          "--health-listen wants HOST:PORT with a port from 0 to 65535, got \"" + *value + "\"";
      return false;
    }
  }
  *target = *value;
  return true;
}

bool CheckTlsFlags(const TlsFlags& flags, std::string* error) {
  if (flags.cert_file.empty() != flags.key_file.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return false;
  }
  if (!flags.client_ca_file.empty() && flags.cert_file.empty()) {
    *error = "--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)";
    return false;
  }
  if (!flags.service_identities.empty() && flags.client_ca_file.empty()) {
    *error =
        "--tls-service-identity needs --tls-client-ca (only a verified client certificate "
        "names a service)";
    return false;
  }
  if (flags.peer_cert_file.empty() != flags.peer_key_file.empty()) {
    *error = "--peer-tls-cert and --peer-tls-key go together";
    return false;
  }
  if (!flags.peer_cert_file.empty() && flags.peer_ca_file.empty()) {
    *error =
        "--peer-tls-cert needs --peer-tls-ca (the CA the peers' certificates are checked with)";
    return false;
  }
  return true;
}

std::string TlsUsage() {
  return R"(  --tls-cert FILE             serve gRPC over TLS with this PEM certificate chain
                              (leaf first), and --http and --admin over HTTPS; needs
                              --tls-key. Reloaded on SIGHUP: new connections get the new
                              certificate, open ones keep theirs (default: plaintext)
  --tls-key FILE              the PEM private key of --tls-cert
  --tls-client-ca FILE        mutual TLS: clients must present a certificate signed by one
                              of these PEM CAs (reloaded on SIGHUP too)
  --tls-service-identity NAME  a call without a token over a connection whose client
                              certificate (checked with --tls-client-ca) has this common
                              name is authenticated with the role service (as a token
                              with roles [service]); repeatable; needs --jwt-*
  --health-listen HOST:PORT   serve grpc.health.v1.Health alone, in plaintext, on a second
                              port (probes that cannot speak TLS); every other service
                              answers UNIMPLEMENTED there; port 0 picks one (default off)
  --peer-tls-ca FILE          call --peers and the cluster's other members (--partitions)
                              over TLS, checking their certificates against these PEM CAs
                              (default: plaintext; required with --tls-cert in a cluster)
  --peer-tls-cert FILE, --peer-tls-key FILE
                              the client certificate and key presented to --peers and to
                              the other members (for those that require mutual TLS)
)";
}

Result<std::optional<tls::TlsMaterial>> LoadServerTls(const TlsFlags& flags) {
  if (!flags.enabled()) return std::optional<tls::TlsMaterial>();
  auto material = tls::LoadTlsMaterial(flags.server_files());
  if (!material.ok()) return material.status();
  return std::optional<tls::TlsMaterial>(*std::move(material));
}

Result<std::shared_ptr<grpc::ChannelCredentials>> LoadPeerCredentials(const TlsFlags& flags) {
  if (!flags.peer_enabled()) return std::shared_ptr<grpc::ChannelCredentials>();
  auto peer = tls::LoadTlsMaterial(flags.peer_files());
  if (!peer.ok()) return peer.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = peer->ca_certs;
  options.pem_private_key = peer->private_key;
  options.pem_cert_chain = peer->cert_chain;
  return grpc::SslCredentials(options);
}

}  // namespace percore::server
