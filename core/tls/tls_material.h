#pragma once
// Threading contract: pure functions (file reads and OpenSSL parsing), callable from any thread;
// used on the control thread at start-up and on SIGHUP, never on a shard.
//
// The PEM files a TLS endpoint is configured with, read and checked before anything serves
// with them: every certificate parses, the private key parses and belongs to the first
// certificate of the chain, a CA file holds at least one certificate. A reload (SIGHUP) with
// a broken or mismatched pair is refused here, so the server keeps the pair it has instead of
// failing every new handshake. Errors name the flag and the file.

#include <string>

#include "core/base/result.h"

namespace percore::tls {

// File names as given on the command line, with the flag that named each (for errors).
struct TlsFiles {
  std::string cert_file;  // PEM certificate chain, leaf first
  std::string key_file;   // PEM private key of the leaf
  std::string ca_file;    // PEM CA certificates to verify the other side with; empty: none
  std::string cert_flag = "--tls-cert";
  std::string key_flag = "--tls-key";
  std::string ca_flag = "--tls-client-ca";
};

// The checked PEM text itself (what gRPC and OpenSSL take).
struct TlsMaterial {
  std::string cert_chain;   // empty when TlsFiles::cert_file was
  std::string private_key;  // empty when TlsFiles::key_file was
  std::string ca_certs;     // empty when TlsFiles::ca_file was
};

// Reads and checks the files named (a cert without its key, or a key without its cert, is an
// error; each may be absent only together).
Result<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// The leaf certificate's subject and notAfter, for log lines ("CN=localhost until ...").
std::string DescribeLeaf(const std::string& cert_chain);

}  // namespace percore::tls
