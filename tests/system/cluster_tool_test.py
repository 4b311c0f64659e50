"""tools/cluster: starts a 3-partition cluster (members listed, then "cluster ready"), every
member answers; SIGTERM stops exactly the processes it started (all exit 0, their pids gone);
started again on the same --data-dir, the users created before are back. With --etcd it starts
an etcd too, the members register there (etcdctl sees them) and answer for each other, and the
stop ends etcd as well. `tools/cluster grow --to 3` grows a running 2-partition one: it prints
the new member and the --grown history, every user is readable through the new member, new
users are created, and its SIGTERM stops exactly the member it started.
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
    def start(self, data_dir, *flags, partitions=3):
        proc = subprocess.Popen(
            [TOOL, "--partitions", str(partitions), "--base-port", "0", "--binary", SERVER,
             "--data-dir", data_dir, *flags, "--", "--services", "user"],
            stdout=subprocess.PIPE, text=True)
        pids, addresses = [], []
        self.etcd_url = None
        for line in proc.stdout:
            if line.startswith("etcd: "):
                self.etcd_url = line.split()[1]
                pids.append(int(line.rsplit("pid ", 1)[1].rstrip(")\n")))
            if line.startswith("partition "):
                pids.append(int(line.rsplit("pid ", 1)[1].rstrip(")\n")))
            if line.startswith("cluster ready: "):
                addresses = line.split(": ", 1)[1].strip().split(",")
                break
        self.assertEqual(len(pids), partitions + 1 if self.etcd_url else partitions)
        self.assertEqual(len(addresses), partitions)
        return proc, pids, addresses

    def stop(self, proc, pids, codes="exit codes [0, 0, 0]"):
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        self.assertEqual(proc.wait(timeout=30), 0, rest)
        self.assertIn(codes, rest)
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

    def test_grow_a_running_cluster_to_three(self):
        pb, pb_grpc = stub_modules("user.v1.user")
        with tempfile.TemporaryDirectory(prefix="percore-cluster-tool-grow-") as data_dir:
            proc, pids, addresses = self.start(data_dir, partitions=2)
            grower = None
            try:
                with grpc.insecure_channel(addresses[0]) as channel:
                    stub = pb_grpc.UserServiceStub(channel)
                    users = [stub.CreateUser(pb.CreateUserRequest(
                        name="G%d" % i, email="g%d-%s@example.com" % (i, uuid.uuid4().hex[:8])),
                        timeout=10) for i in range(8)]
                grower = subprocess.Popen(
                    [TOOL, "grow", "--to", "3", "--members", ",".join(addresses), "--binary",
                     SERVER, "--data-dir", data_dir, "--", "--services", "user"],
                    stdout=subprocess.PIPE, text=True)
                grown_line, new_pid = None, None
                for line in grower.stdout:
                    if line.startswith("partition 2: "):
                        new_pid = int(line.rsplit("pid ", 1)[1].rstrip(")\n"))
                    if line.startswith("cluster grown: "):
                        grown_line = line
                        break
                self.assertIsNotNone(grown_line, "grow printed no result")
                self.assertRegex(grown_line, r"--partitions 3 --grown 2,3@\d+ --members ")
                new_address = grown_line.rsplit(",", 1)[1].strip()
                with grpc.insecure_channel(new_address) as channel:
                    stub = pb_grpc.UserServiceStub(channel)
                    for user in users:
                        self.assertEqual(stub.GetUser(pb.GetUserRequest(id=user.id),
                                                      timeout=10), user)
                    later = stub.CreateUser(pb.CreateUserRequest(
                        name="Later", email="later-%s@example.com" % uuid.uuid4().hex[:8]),
                        timeout=10)
                with grpc.insecure_channel(addresses[1]) as channel:
                    self.assertEqual(pb_grpc.UserServiceStub(channel).GetUser(
                        pb.GetUserRequest(id=later.id), timeout=10), later)
                self.assertIn("partition-2", os.listdir(data_dir))
            finally:
                if grower:
                    grower.send_signal(signal.SIGTERM)
                    rest = grower.stdout.read()
                    grower.stdout.close()
                    self.assertEqual(grower.wait(timeout=30), 0, rest)
                    self.assertIn("new members stopped: exit codes [0]", rest)
                    with self.assertRaises(ProcessLookupError):
                        os.kill(new_pid, 0)
                self.stop(proc, pids, codes="exit codes [0, 0]")

    def test_etcd_started_members_registered_there_all_stopped(self):
        pb, pb_grpc = stub_modules("user.v1.user")
        with tempfile.TemporaryDirectory(prefix="percore-cluster-tool-etcd-") as data_dir:
            proc, pids, addresses = self.start(data_dir, "--etcd", "--lease-ttl", "3")
            try:
                self.assertTrue(self.etcd_url.startswith("http://127.0.0.1:"), self.etcd_url)
                listed = subprocess.run(
                    ["etcdctl", "--endpoints", self.etcd_url, "get", "--prefix",
                     "/percore/members/"], capture_output=True, text=True, check=True,
                    env={**os.environ, "ETCDCTL_API": "3"}).stdout.splitlines()
                self.assertEqual(dict(zip(listed[0::2], listed[1::2])),
                                 {"/percore/members/%d" % i: a for i, a in enumerate(addresses)})
                with grpc.insecure_channel(addresses[1]) as channel:
                    stub = pb_grpc.UserServiceStub(channel)
                    for i in range(6):
                        user = stub.CreateUser(pb.CreateUserRequest(
                            name="E%d" % i, email="e%d-%s@example.com" % (i, uuid.uuid4().hex[:8])),
                            timeout=10)
                        for address in addresses:
                            with grpc.insecure_channel(address) as other:
                                self.assertEqual(pb_grpc.UserServiceStub(other).GetUser(
                                    pb.GetUserRequest(id=user.id), timeout=10), user)
            finally:
                self.stop(proc, pids)  # the members and etcd: every pid gone


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
