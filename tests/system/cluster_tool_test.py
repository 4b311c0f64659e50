"""tools/cluster: starts a 3-partition cluster (members listed, then "cluster ready"), every
member answers; SIGTERM stops exactly the processes it started (all exit 0, their pids gone);
started again on the same --data-dir, the users created before are back.
Usage: cluster_tool_test.py PATH/TO/percore-server"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import grpc

from percore_py.stubs import stub_modules

SERVER = None
TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "cluster")


class ClusterTool(unittest.TestCase):
    def start(self, data_dir):
        proc = subprocess.Popen(
            [TOOL, "--partitions", "3", "--base-port", "0", "--binary", SERVER, "--data-dir",
             data_dir, "--", "--services", "user"],
            stdout=subprocess.PIPE, text=True)
        pids, addresses = [], []
        for line in proc.stdout:
            if line.startswith("partition "):
                pids.append(int(line.rsplit("pid ", 1)[1].rstrip(")\n")))
            if line.startswith("cluster ready: "):
                addresses = line.split(": ", 1)[1].strip().split(",")
                break
        self.assertEqual(len(pids), 3)
        self.assertEqual(len(addresses), 3)
        return proc, pids, addresses

    def stop(self, proc, pids):
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        self.assertEqual(proc.wait(timeout=30), 0, rest)
        self.assertIn("exit codes [0, 0, 0]", rest)
        for pid in pids:
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)

    def test_start_serve_stop_and_restart_on_the_data_dir(self):
        pb, pb_grpc = stub_modules("user.v1.user")
        with tempfile.TemporaryDirectory(prefix="percore-cluster-tool-") as data_dir:
            proc, pids, addresses = self.start(data_dir)
            try:
                channels = [grpc.insecure_channel(a) for a in addresses]
                stubs = [pb_grpc.UserServiceStub(c) for c in channels]
                users = [stubs[i % 3].CreateUser(pb.CreateUserRequest(
                    name="U%d" % i, email="u%d-%s@example.com" % (i, uuid.uuid4().hex[:8])),
                    timeout=10) for i in range(9)]
                for c in channels:
                    c.close()
            finally:
                self.stop(proc, pids)
            self.assertEqual(sorted(os.listdir(data_dir)),
                             ["partition-0", "partition-1", "partition-2"])

            proc, pids, addresses = self.start(data_dir)
            try:
                for address in addresses:
                    with grpc.insecure_channel(address) as channel:
                        stub = pb_grpc.UserServiceStub(channel)
                        for user in users:
                            self.assertEqual(stub.GetUser(pb.GetUserRequest(id=user.id),
                                                          timeout=10), user)
            finally:
                self.stop(proc, pids)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
