#pragma once
// Threading contract: parsed once in main(); LoadServerTls and ReloadServerTls run on the
// control thread (start-up, SIGHUP).
//
// The TLS flags of percore-server (issue 13): --tls-cert/--tls-key serve gRPC over TLS,
// --tls-client-ca requires and verifies client certificates (mutual TLS), --health-listen
// serves grpc.health.v1 alone in plaintext on a second port (Kubernetes probes cannot speak
// TLS), and --peer-tls-* are what this server presents and trusts when it calls its --peers and
// the other members of its cluster.
// On SIGHUP the server's certificate, key and client CA are read again (ReloadServerTls).

#include <grpcpp/security/credentials.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/tls/tls_material.h"

namespace percore::server {

struct TlsFlags {
  std::string cert_file;       // --tls-cert
  std::string key_file;        // --tls-key
  std::string client_ca_file;  // --tls-client-ca
  std::string health_listen;   // --health-listen HOST:PORT
  std::string peer_ca_file;    // --peer-tls-ca
  std::string peer_cert_file;  // --peer-tls-cert
  std::string peer_key_file;   // --peer-tls-key
  // --tls-service-identity NAME (repeatable): client certificates with this common name are
  // the `service` role when they carry no token.
  std::vector<std::string> service_identities;
  bool enabled() const { return !cert_file.empty(); }
  bool peer_enabled() const { return !peer_ca_file.empty(); }
  tls::TlsFiles server_files() const {
    return {.cert_file = cert_file, .key_file = key_file, .ca_file = client_ca_file};
  }
  tls::TlsFiles peer_files() const {
    return {.cert_file = peer_cert_file,
            .key_file = peer_key_file,
            .ca_file = peer_ca_file,
            .cert_flag = "--peer-tls-cert",
            .key_flag = "--peer-tls-key",
            .ca_flag = "--peer-tls-ca"};
  }
};

// As ParseAuthFlag (auth_flags.h): nullopt when `arg` is not a TLS flag.
std::optional<bool> ParseTlsFlag(std::string_view arg,
                                 const std::function<std::optional<std::string>()>& take_value,
                                 TlsFlags* flags, std::string* error);
// After every flag: the combinations that make no sense (a key without a cert, a client CA
// without TLS, --peer-tls-cert without --peer-tls-ca, ...).
bool CheckTlsFlags(const TlsFlags& flags, std::string* error);
std::string TlsUsage();

// The server's TLS material from --tls-* (files read and checked, so a bad file stops the start
// or is refused on SIGHUP, the server keeping what it has), or nullopt without --tls-cert.
Result<std::optional<tls::TlsMaterial>> LoadServerTls(const TlsFlags& flags);
// The channel credentials for every --peer and cluster member from --peer-tls-* (files read and
// checked now, at the start and on SIGHUP), or nullptr without --peer-tls-ca (plaintext).
Result<std::shared_ptr<grpc::ChannelCredentials>> LoadPeerCredentials(const TlsFlags& flags);

}  // namespace percore::server
