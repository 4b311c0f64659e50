"""HTTPS on the HTTP listeners (issue 13): the gateway (--http) and the admin listener (--admin)
take the --tls-* flags: mutual TLS for REST, /metrics and wss://, plaintext and strangers refused;
the admin listener lets a client without a certificate reach /healthz and /readyz (Kubernetes
probes) and answers 403 elsewhere; a client certificate named by --tls-service-identity is the
`service` role on the gateway as on gRPC; SIGHUP reloads their certificate with the gRPC side's.
The certificates and the cases' base are tls_python_test.py's.
Usage: tls_https_python_test.py PATH/TO/percore-server"""

import json
import signal
import sys
import time
import unittest

from percore_py.server import Server, native
from tls_support import presented_common_name

import tls_python_test as tls_base


class HttpsListeners(tls_base.TlsCase):
    """The gateway (--http) and the admin listener (--admin) with the --tls-* flags."""

    def test_gateway_and_admin_over_mutual_tls(self):
        import requests
        import websocket
        server = self.start("--tls-client-ca", self.pki.path("ca.pem"), "--http", "127.0.0.1:0",
                            "--admin", "127.0.0.1:0")
        http, admin = server.logged_ports("HTTP gateway", "admin")
        ca, client = self.pki.path("ca.pem"), (self.pki.path("client.pem"),
                                               self.pki.path("client.key"))
        base = "https://127.0.0.1:%d" % http
        r = requests.post(base + "/v1/users", json={"name": "T", "email": "t@https.test"},
                          verify=ca, cert=client, timeout=tls_base.TIMEOUT)
        self.assertEqual(r.status_code, 201, r.text)
        r = requests.get("https://127.0.0.1:%d/metrics" % admin, verify=ca, cert=client,
                         timeout=tls_base.TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn('percore_http_requests_total{code="201",method="POST",route="/v1/users"} 1',
                      r.text)
        ws = websocket.create_connection(
            "wss://127.0.0.1:%d/v1/users/stream?ready=1" % http, timeout=tls_base.TIMEOUT,
            sslopt={"ca_certs": ca, "certfile": client[0], "keyfile": client[1]})
        try:
            self.assertEqual(json.loads(ws.recv()), {"ready": True})
        finally:
            ws.close()
        self.assertEqual(presented_common_name(http, self.pki, https=True, client="client"),
                         "percore-a")
        for port in (http, admin):
            # Plaintext and a certificate from another CA: refused at the TLS layer.
            with self.assertRaises(requests.exceptions.ConnectionError):
                requests.get("http://127.0.0.1:%d/healthz" % port, timeout=tls_base.TIMEOUT)
            with self.assertRaises(requests.exceptions.ConnectionError):
                requests.get("https://127.0.0.1:%d/healthz" % port, verify=ca,
                             cert=(self.pki.path("client-other.pem"),
                                   self.pki.path("client-other.key")), timeout=tls_base.TIMEOUT)
        # No client certificate: refused by the gateway; the admin listener serves the probes
        # (Kubernetes httpGet presents none) and answers 403 for the rest.
        with self.assertRaises(requests.exceptions.ConnectionError):
            requests.get(base + "/healthz", verify=ca, timeout=tls_base.TIMEOUT)
        for path, status in (("/healthz", 200), ("/readyz", 200), ("/metrics", 403),
                             ("/nowhere", 403)):
            with self.subTest(path=path):
                r = requests.get("https://127.0.0.1:%d%s" % (admin, path), verify=ca,
                                 timeout=tls_base.TIMEOUT)
                self.assertEqual(r.status_code, status, r.text)
        self.assertIn("client certificate", r.text)
        for path, status in (("/healthz", 200), ("/readyz", 200), ("/metrics", 200)):
            r = requests.get("https://127.0.0.1:%d%s" % (admin, path), verify=ca, cert=client,
                             timeout=tls_base.TIMEOUT)
            self.assertEqual(r.status_code, status, path)

    def test_a_client_certificate_on_https_is_the_service_role(self):
        """--tls-service-identity on the gateway as on gRPC (tls_python_test's
        test_a_client_certificate_name_is_the_service_role): GET /v1/payments/{id} (GetPayment,
        the service role's) with CN=order-service and no token runs (404: no such payment)."""
        import jwt
        import requests
        secret = b"percore-test-secret-of-at-least-32-bytes"
        with open(self.pki.path("jwt-secret"), "wb") as f:
            f.write(secret)
        server = self.start("--services", "payment", "--tls-client-ca", self.pki.path("ca.pem"),
                            "--jwt-secret-file", self.pki.path("jwt-secret"),
                            "--tls-service-identity", "order-service", "--http", "127.0.0.1:0")
        url = "https://127.0.0.1:%d/v1/payments/txn_00000000deadbeef" % (
            server.logged_ports("HTTP gateway")[0])

        def status(client, token=None):
            headers = {"Authorization": "Bearer " + token} if token else {}
            cert = (self.pki.path(client + ".pem"), self.pki.path(client + ".key"))
            return requests.get(url, verify=self.pki.path("ca.pem"), headers=headers, cert=cert,
                                timeout=tls_base.TIMEOUT).status_code

        self.assertEqual(status("client"), 404)  # the service role: GetPayment ran
        self.assertEqual(status("client-user"), 401)  # same CA, a name not listed, no token
        user = jwt.encode({"sub": "u1", "roles": ["user"], "exp": int(time.time()) + 600}, secret,
                          algorithm="HS256")
        self.assertEqual(status("client", user), 403)  # a token, when there is one, decides

    def test_sighup_reloads_the_https_certificate(self):
        if native():
            self.skipTest("the HTTP listeners are the same on both transports")
        import requests
        cert, key = self.pki.path("live-https.pem"), self.pki.path("live-https.key")
        for src, dst in (("server-a.pem", cert), ("server-a.key", key)):
            with open(dst, "wb") as f:
                f.write(self.pki.read(src))
        server = Server(tls_base.SERVER, "--shards", "1", "--shutdown-grace", "1", "--tls-cert",
                        cert, "--tls-key", key, "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0")
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.stderr_text()))
        http, admin = server.logged_ports("HTTP gateway", "admin")
        session = requests.Session()  # a keep-alive connection made with the old certificate
        self.addCleanup(session.close)
        base = "https://127.0.0.1:%d" % http
        self.assertEqual(session.get(base + "/v1/users", verify=self.pki.path("ca.pem"),
                                     timeout=tls_base.TIMEOUT).status_code, 200)
        self.assertEqual(presented_common_name(http, self.pki, https=True), "percore-a")
        for src, dst in (("server-b.pem", cert), ("server-b.key", key)):
            with open(dst, "wb") as f:
                f.write(self.pki.read(src))
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + tls_base.TIMEOUT
        while "HTTPS certificate reloaded" not in server.stderr_text():
            self.assertLess(time.monotonic(), deadline, server.stderr_text())
            time.sleep(0.05)
        for port in (http, admin):
            deadline = time.monotonic() + tls_base.TIMEOUT  # posted to each listener's thread
            while (presented_common_name(port, self.pki, https=True) != "percore-b"
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            self.assertEqual(presented_common_name(port, self.pki, https=True), "percore-b")
        self.assertEqual(session.get(base + "/v1/users", verify=self.pki.path("ca.pem"),
                                     timeout=tls_base.TIMEOUT).status_code, 200)


if __name__ == "__main__":
    tls_base.SERVER = sys.argv[1]
    del sys.argv[1]
    unittest.main()
