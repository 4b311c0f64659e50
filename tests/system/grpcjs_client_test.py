"""Node's grpc-js (a client percore did not write; tests/system/grpcjs, from npm through
tools/bootstrap) against the real percore-server: the interop cases, user.v1 and the order chat.
Usage: grpcjs_client_test.py PATH/TO/percore-server"""

import os
import subprocess
import sys
import unittest

from percore_py.server import Server

SERVER = None
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.join(HERE, "grpcjs")
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")
CASES = 17  # the entries of `cases` in grpcjs_client.mjs


class GrpcJsClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        module = os.path.join(CLIENT_DIR, "node_modules", "@grpc", "grpc-js")
        if not os.path.isdir(module):
            raise RuntimeError("%s is missing: run tools/bootstrap (it runs npm ci there)" % module)
        cls.server = Server(SERVER, "--shards", "2", "--shutdown-grace", "2")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_every_case_passes_with_grpc_js(self):
        run = subprocess.run(
            ["node", os.path.join(CLIENT_DIR, "grpcjs_client.mjs"), self.server.address,
             os.path.abspath(PROTO_ROOT)],
            capture_output=True, text=True, timeout=120)
        lines = run.stdout.splitlines()
        failures = [line for line in lines if not line.startswith("ok ")]
        self.assertEqual(failures, [], run.stdout + run.stderr)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(len(lines), CASES, run.stdout)  # every case ran, none was skipped


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
