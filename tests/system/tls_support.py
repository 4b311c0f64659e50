"""What the TLS system tests share: Pki, the certificates they make themselves
(python3-cryptography, into a temporary directory; no key is committed), a grpcio channel
trusting one of its CAs, and the name a TLS listener presents."""

import datetime
import ipaddress
import atexit
import os
import re
import socket
import tempfile
import ssl

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TIMEOUT = 10


class Pki:
    """Two CAs and the certificates the cases need, as PEM files in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca = self._ca("percore test CA", "ca")
        self.other_ca = self._ca("another CA", "other-ca")
        self.issue("server-a", self.ca, "percore-a", now, server=True)
        self.issue("server-b", self.ca, "percore-b", now, server=True)
        self.issue("server-expired", self.ca, "percore-expired", now - datetime.timedelta(days=30),
                   server=True, days=1)
        self.issue("client", self.ca, "order-service", now)
        self.issue("client-other", self.other_ca, "stranger", now)
        self.issue("client-user", self.ca, "someone", now)
        self.issue("client-expired", self.ca, "late", now - datetime.timedelta(days=30), days=1)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def _write(self, name, key, cert):
        with open(self.path(name + ".key"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(self.path(name + ".pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def _ca(self, common_name, name):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        self._write(name, key, cert)
        return (key, cert)

    def issue(self, name, ca, common_name, start, server=False, days=30):
        ca_key, ca_cert = ca
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start - datetime.timedelta(minutes=5))
                   .not_valid_after(start + datetime.timedelta(days=days)))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        self._write(name, key, builder.sign(ca_key, hashes.SHA256()))


def secure_channel(address, pki, ca="ca.pem", client=None):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.read(ca),
        private_key=pki.read(client + ".key") if client else None,
        certificate_chain=pki.read(client + ".pem") if client else None)
    return grpc.secure_channel(address, credentials)


def presented_common_name(port, pki, https=False, client=None):
    """The CN of the certificate the listener at `port` presents to a new TLS connection (Python's
    ssl, the CA checked; with `client`, that client certificate). gRPC listeners must agree on
    ALPN h2, as gRPC clients offer it; HTTPS ones (`https`) on http/1.1 of a browser's h2 and
    http/1.1."""
    context = ssl.create_default_context(cafile=pki.path("ca.pem"))
    context.set_alpn_protocols(["h2", "http/1.1"] if https else ["h2"])
    if client:
        context.load_cert_chain(pki.path(client + ".pem"), pki.path(client + ".key"))
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            agreed = tls.selected_alpn_protocol()
            assert agreed == ("http/1.1" if https else "h2"), agreed
            assert tls.version() in ("TLSv1.2", "TLSv1.3"), tls.version()
            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def allow_openssl_thread_state_at_exit():
    """For the servers this test starts under LeakSanitizer (tools/test sets LSAN_OPTIONS): a
    member whose TLS member channels keep failing their handshakes has libgrpc's event-engine
    threads still running when it exits; OpenSSL's exit cleanup deletes the thread-local keys
    holding those threads' error and random-generator state, which LeakSanitizer then reports
    (seen 1 run in 10 of cluster_tls_python_native under ASan; the full stack, with
    fast_unwind_on_malloc=0, is CRYPTO_zalloc <- ERR_clear_error / RAND_get0_private <-
    tsi_ssl_client_handshaker_factory_create_handshaker <- grpc_event_engine ThreadPool).
    The fast unwinder stops inside libcrypto, so those reports show no frame to name but
    libcrypto's: this test's servers get the project's suppressions plus libcrypto's
    allocations. Nothing changes outside a sanitizer run."""
    options = os.environ.get("LSAN_OPTIONS")
    if not options:
        return
    found = re.search(r"suppressions=([^:]+)", options)
    base = ""
    if found and os.path.exists(found.group(1)):
        with open(found.group(1)) as f:
            base = f.read()
    supp = tempfile.NamedTemporaryFile("w", suffix=".supp", prefix="lsan-", delete=False)
    with supp:
        supp.write(base + "\nleak:libcrypto.so\n")
    atexit.register(os.unlink, supp.name)  # the servers are stopped before the test exits
    rest = re.sub(r"suppressions=[^:]*:?", "", options).strip(":")
    os.environ["LSAN_OPTIONS"] = ":".join(x for x in ("suppressions=" + supp.name, rest) if x)
