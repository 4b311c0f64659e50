"""The HTTP gateway's own servers, each started for one case: JWT auth passed through
(401/403 as grpc-gateway maps them, a WebSocket closed 4016), a service not hosted (503), SIGTERM
closing WebSockets with UNAVAILABLE (4014) and exiting 0, the web page served.
gateway_python_test.py drives one shared server through every route.
Usage: gateway_serving_python_test.py PATH/TO/percore-server"""

import http.client
import json
import signal
import sys
import tempfile
import time
import unittest
import urllib.parse

import requests
import websocket

from gateway_support import TIMEOUT, close_of, recv_json, start, ws_url

SERVER = None


class GatewayAuthTest(unittest.TestCase):
    def test_jwt_passes_through_authorization(self):
        try:
            import jwt
        except ImportError:
            self.skipTest("python3-jwt missing")
        with tempfile.NamedTemporaryFile("w", suffix=".secret") as secret:
            key = "s" * 40
            secret.write(key)
            secret.flush()
            server, base, _ = start(SERVER, "--shards", "1", "--jwt-secret-file", secret.name)
            try:
                def token(roles, sub="admin-1"):
                    return jwt.encode({"sub": sub, "roles": roles, "exp": time.time() + 600},
                                      key, algorithm="HS256")
                r = requests.get(base + "/v1/users", timeout=TIMEOUT)
                self.assertEqual(r.status_code, 401, r.text)
                self.assertEqual(r.json()["code"], 16)
                r = requests.get(base + "/v1/users", timeout=TIMEOUT,
                                 headers={"Authorization": "Bearer " + token(["buyer"], "u1")})
                self.assertEqual(r.status_code, 403, r.text)
                self.assertEqual(r.json()["code"], 7)
                r = requests.get(base + "/v1/users", timeout=TIMEOUT,
                                 headers={"Authorization": "Bearer " + token(["admin"])})
                self.assertEqual(r.status_code, 200, r.text)
                # Two tokens (a proxy in front may have checked the other one): refused as on
                # gRPC, whether both are Authorization or one comes as Grpc-Metadata-.
                r = requests.get(base + "/v1/users", timeout=TIMEOUT, headers={
                    "Authorization": "Bearer " + token(["admin"]),
                    "Grpc-Metadata-Authorization": "Bearer " + token(["buyer"], "u1")})
                self.assertEqual(r.status_code, 401, r.text)
                self.assertIn("more than one authorization header", r.json()["message"])
                conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc,
                                                  timeout=TIMEOUT)
                try:
                    conn.putrequest("GET", "/v1/users")
                    for roles in (["admin"], ["buyer"]):
                        conn.putheader("Authorization", "Bearer " + token(roles))
                    conn.endheaders()
                    response = conn.getresponse()
                    self.assertEqual(response.status, 401)
                    self.assertIn("more than one authorization header",
                                  json.loads(response.read())["message"])
                finally:
                    conn.close()
                ws = websocket.create_connection(ws_url(base, "/v1/support/chat"),
                                                 timeout=TIMEOUT)
                try:
                    self.assertEqual(close_of(ws)[0], 4016)
                finally:
                    ws.close()
            finally:
                self.assertEqual(server.stop(), 0, server.stderr_text())


class GatewayServingTest(unittest.TestCase):
    def test_service_not_hosted_is_503(self):
        server, base, _ = start(SERVER, "--shards", "1", "--services", "user")
        try:
            r = requests.get(base + "/v1/products", timeout=TIMEOUT)
            self.assertEqual(r.status_code, 503, r.text)
            self.assertIn("not hosted", r.json()["message"])
            self.assertEqual(requests.get(base + "/v1/users", timeout=TIMEOUT).status_code, 200)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_sigterm_closes_websockets_and_exits_zero(self):
        server, base, _ = start(SERVER, "--shards", "1")
        ws = websocket.create_connection(ws_url(base, "/v1/users/stream?ready=1"),
                                         timeout=TIMEOUT)
        try:
            self.assertEqual(recv_json(ws), {"ready": True})
            server.proc.send_signal(signal.SIGTERM)
            code, reason = close_of(ws)
            self.assertEqual(code, 4014, reason)  # UNAVAILABLE
        finally:
            ws.close()
            self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_web_page_is_served(self):
        server, base, _ = start(SERVER, "--shards", "1")
        try:
            r = requests.get(base + "/", timeout=TIMEOUT)
            self.assertEqual(r.status_code, 200)
            self.assertIn("text/html", r.headers["Content-Type"])
            self.assertIn("<script", r.text)
            self.assertEqual(requests.get(base + "/app.js", timeout=TIMEOUT).status_code, 200)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr_text())


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
