"""HTTPS on the HTTP listeners (issue 13): the gateway (--http) and the admin listener (--admin)
take the --tls-* flags: mutual TLS for REST, /metrics and wss://, plaintext and strangers refused,
and SIGHUP reloads their certificate with the gRPC side's. The certificates and the cases' base
are tls_python_test.py's.
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
            # Plaintext, no client certificate, a certificate from another CA: refused.
            with self.assertRaises(requests.exceptions.ConnectionError):
                requests.get("http://127.0.0.1:%d/healthz" % port, timeout=tls_base.TIMEOUT)
            for bad in (None, (self.pki.path("client-other.pem"),
                               self.pki.path("client-other.key"))):
                with self.assertRaises(requests.exceptions.ConnectionError):
                    requests.get("https://127.0.0.1:%d/healthz" % port, verify=ca, cert=bad,
                                 timeout=tls_base.TIMEOUT)
        r = requests.get("https://127.0.0.1:%d/healthz" % admin, verify=ca, cert=client,
                         timeout=tls_base.TIMEOUT)
        self.assertEqual(r.status_code, 200)

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
            for _ in range(50):  # the swap is posted to each listener's thread
                if presented_common_name(port, self.pki, https=True) == "percore-b":
                    break
                time.sleep(0.02)
            self.assertEqual(presented_common_name(port, self.pki, https=True), "percore-b")
        self.assertEqual(session.get(base + "/v1/users", verify=self.pki.path("ca.pem"),
                                     timeout=tls_base.TIMEOUT).status_code, 200)


if __name__ == "__main__":
    tls_base.SERVER = sys.argv[1]
    del sys.argv[1]
    unittest.main()
