#include "core/tls/server_tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>

namespace percore::tls {
namespace {

constexpr unsigned char kH2[] = {'h', '2'};

// Picks "h2" from the client's list, or refuses the handshake.
int SelectH2(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
             const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int length = in[i];
    if (i + 1 + length > inlen) break;
    if (length == sizeof(kH2) && std::equal(kH2, kH2 + sizeof(kH2), in + i + 1)) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};

// Picks "http/1.1" when the client offers it; otherwise no protocol is agreed (and the
// handshake goes on: HTTP/1.1 needs no ALPN), rather than an h2 this server does not speak.
int SelectHttp11(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                 const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int length = in[i];
    if (i + 1 + length > inlen) break;
    if (length == sizeof(kHttp11) && std::equal(kHttp11, kHttp11 + sizeof(kHttp11), in + i + 1)) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

Status OpenSslError(const std::string& what) {
  char text[256] = "unknown";
  if (unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return Status(StatusCode::kInvalidArgument, what + ": " + text);
}

}  // namespace

Result<SslCtxPtr> MakeServerTlsContext(const TlsMaterial& material, Alpn alpn) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return OpenSslError("TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx.get(), alpn == Alpn::kRequireH2 ? SelectH2 : SelectHttp11,
                             nullptr);

  // The chain: leaf, then any intermediates.
  BIO* chain =
      BIO_new_mem_buf(material.cert_chain.data(), static_cast<int>(material.cert_chain.size()));
  X509* leaf = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx.get(), leaf) == 1;
  X509_free(leaf);
  while (ok) {
    X509* extra = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx.get(), extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(chain);
  ERR_clear_error();  // the chain loop ends on "no start line"
  if (!ok) return OpenSslError("--tls-cert");
  BIO* key_bio =
      BIO_new_mem_buf(material.private_key.data(), static_cast<int>(material.private_key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx.get(), key) == 1 &&
       SSL_CTX_check_private_key(ctx.get()) == 1;
  EVP_PKEY_free(key);
  if (!ok) return OpenSslError("--tls-key");

  if (!material.ca_certs.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    BIO* ca = BIO_new_mem_buf(material.ca_certs.data(), static_cast<int>(material.ca_certs.size()));
    while (X509* cert = PEM_read_bio_X509(ca, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert)));
      X509_free(cert);
    }
    BIO_free(ca);
    ERR_clear_error();
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes `names`
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

}  // namespace percore::tls
