#include "core/tls/tls_material.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace percore::tls {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// PEM files are small; a limit keeps a wrong path (a device, a huge file) from being read whole.
constexpr std::streamsize kMaxPemBytes = 1 << 20;

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kInvalidArgument, flag + " " + path + ": cannot be read");
  std::string text;
  text.resize(kMaxPemBytes + 1);
  in.read(text.data(), kMaxPemBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (static_cast<std::streamsize>(text.size()) > kMaxPemBytes) {
    return Status(StatusCode::kInvalidArgument, flag + " " + path + ": larger than 1 MiB");
  }
  return text;
}

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in `pem`, in order.
std::vector<X509Ptr> Certificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return certs;
}

Status Invalid(const std::string& text) { return Status(StatusCode::kInvalidArgument, text); }

}  // namespace

Result<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  TlsMaterial material;
  if (files.cert_file.empty() != files.key_file.empty()) {
    return Invalid(files.cert_flag + " and " + files.key_flag + " go together");
  }
  if (!files.cert_file.empty()) {
    auto cert = ReadPem(files.cert_flag, files.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(files.key_flag, files.key_file);
    if (!key.ok()) return key.status();
    std::vector<X509Ptr> chain = Certificates(*cert);
    if (chain.empty()) {
      return Invalid(files.cert_flag + " " + files.cert_file + ": no PEM certificate");
    }
    BioPtr key_bio = MemoryBio(*key);
    PkeyPtr pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!pkey) {
      return Invalid(files.key_flag + " " + files.key_file +
                     ": no PEM private key (or it is encrypted)");
    }
    if (X509_check_private_key(chain.front().get(), pkey.get()) != 1) {
      ERR_clear_error();
      return Invalid(files.key_flag + " " + files.key_file + " is not the key of " +
                     files.cert_flag + " " + files.cert_file);
    }
    material.cert_chain = *std::move(cert);
    material.private_key = *std::move(key);
  }
  if (!files.ca_file.empty()) {
    auto ca = ReadPem(files.ca_flag, files.ca_file);
    if (!ca.ok()) return ca.status();
    if (Certificates(*ca).empty()) {
      return Invalid(files.ca_flag + " " + files.ca_file + ": no PEM certificate");
    }
    material.ca_certs = *std::move(ca);
  }
  return material;
}

std::string DescribeLeaf(const std::string& cert_chain) {
  std::vector<X509Ptr> chain = Certificates(cert_chain);
  if (chain.empty()) return "no certificate";
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), X509_get_subject_name(chain.front().get()), 0, XN_FLAG_ONELINE);
  BIO_puts(out.get(), " until ");
  ASN1_TIME_print(out.get(), X509_get0_notAfter(chain.front().get()));
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace percore::tls
