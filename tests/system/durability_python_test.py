"""Durable users (--data-dir) on the real percore-server, driven by Python grpcio:
- every create, update and delete the client saw acknowledged under --fsync always survives
  kill -9, over several rounds, each restarted with a different --shards (rows re-placed);
  the email index is rebuilt (a recovered user's email stays taken, a deleted one's is free);
- a clean SIGTERM under the default --fsync everysec keeps everything;
- a torn tail (a partial record after a crash) is dropped with a log line, not fatal; a damaged
  record in the middle refuses to start naming the file and offset, and
  --recover-skip-corrupt starts without that one record;
- a second server on the same data directory is refused; --fsync without --data-dir is a flag
  error.
Usage: durability_python_test.py PATH/TO/percore-server"""

import os
import random
import subprocess
import sys
import threading
import unittest

import grpc

from durability_support import DataDirTest, kill_mid_load
from percore_py.server import Server
from percore_py.stubs import stub_modules

SERVER = None
user_pb2, user_grpc = None, None


def live_log(data_dir, shard=0):
    users = os.path.join(data_dir, "users")
    with open(os.path.join(users, "CURRENT")) as current:
        generation = current.read().strip()
    return os.path.join(users, generation, "shard-%d.log" % shard)


def list_users(stub):
    """Every user, page by page (the next-page-token trailer)."""
    users, token = {}, ""
    while True:
        call = stub.ListUsers(user_pb2.ListUsersRequest(page_size=1000, page_token=token),
                              timeout=30)
        users.update({u.id: u for u in call})
        token = dict(call.trailing_metadata() or ()).get("next-page-token")
        if not token:
            return users


class Writer(threading.Thread):
    """Creates, renames and deletes its own users until told to stop; remembers what was
    acknowledged, and the one operation in flight when the server died."""

    def __init__(self, address, tag):
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(address)
        self.stub = user_grpc.UserServiceStub(self.channel)
        self.tag = tag
        self.expected = {}  # id -> name, or None once deleted (acknowledged state)
        self.emails = {}    # id -> email
        self.in_flight = None  # (id or None, what it would change to)
        self.stop = threading.Event()
        self.rng = random.Random(tag)

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                live = [i for i, name in self.expected.items() if name is not None]
                choice = self.rng.random()
                if not live or choice < 0.6:
                    email = "%s-%d@example.com" % (self.tag, n)
                    self.in_flight = (None, email)
                    user = self.stub.CreateUser(
                        user_pb2.CreateUserRequest(name="v1", email=email), timeout=5)
                    self.expected[user.id] = "v1"
                    self.emails[user.id] = email
                elif choice < 0.85:
                    uid = self.rng.choice(live)
                    name = "v%d" % n
                    self.in_flight = (uid, name)
                    self.stub.UpdateUser(user_pb2.UpdateUserRequest(id=uid, name=name), timeout=5)
                    self.expected[uid] = name
                else:
                    uid = self.rng.choice(live)
                    self.in_flight = (uid, None)
                    self.stub.DeleteUser(user_pb2.DeleteUserRequest(id=uid), timeout=5)
                    self.expected[uid] = None
                self.in_flight = None
            except grpc.RpcError:
                return  # the server died: in_flight is the one unknown outcome

    def close(self):
        self.channel.close()


def settle_writers(test, writers, now, expected, emails):
    """After a kill and restart: every write the `writers` saw acknowledged is in `now` (the
    users listed), each writer's one in-flight operation left the old or the new state (an
    unacknowledged create may or may not be there: what is there is adopted). Folds what each
    writer knows into `expected` (id -> name, None when deleted) and `emails`; returns how many
    users the writers acknowledged."""
    acknowledged = 0
    for w in writers:
        acknowledged += len(w.expected)
        for uid, name in w.expected.items():
            if w.in_flight and w.in_flight[0] == uid:
                continue  # checked below
            if name is None:
                test.assertNotIn(uid, now, "an acknowledged delete came back")
            else:
                test.assertIn(uid, now, "an acknowledged create was lost")
                test.assertEqual(now[uid].name, name, "an acknowledged update was lost")
                test.assertEqual(now[uid].email, w.emails[uid])
        if w.in_flight and w.in_flight[0] is not None:
            uid, change = w.in_flight
            after = now[uid].name if uid in now else None
            test.assertIn(after, (w.expected[uid], change), "in-flight op left a third state")
            w.expected[uid] = after
        if w.in_flight and w.in_flight[0] is None:
            for uid, user in now.items():
                if user.email == w.in_flight[1]:
                    w.expected[uid] = user.name
                    w.emails[uid] = user.email
        expected.update(w.expected)
        emails.update(w.emails)
    return acknowledged


class Durability(DataDirTest):
    PREFIX = "percore-durability-"

    def start(self, *flags, shards=2):
        return Server(SERVER, "--shards", str(shards), "--services", "user", "--data-dir",
                      self.data, *flags)

    def test_acknowledged_writes_survive_kill_9_with_fsync_always(self):
        expected, emails = {}, {}
        for round_number, shards in enumerate((2, 1, 2)):
            server = self.start("--fsync", "always", shards=shards)
            stub = user_grpc.UserServiceStub(server.channel)
            recovered = list_users(stub)
            self.assertEqual({i: u.name for i, u in recovered.items()},
                             {i: n for i, n in expected.items() if n is not None},
                             "round %d: recovered users differ from the acknowledged ones"
                             % round_number)
            writers = [Writer(server.address, "r%dw%d" % (round_number, w)) for w in range(4)]
            kill_mid_load(server, writers)
            for w in writers:
                w.close()
            # Settle the one unknown outcome per writer by looking after the restart.
            server = self.start("--fsync", "always", shards=shards)
            stub = user_grpc.UserServiceStub(server.channel)
            now = list_users(stub)
            acknowledged = settle_writers(self, writers, now, expected, emails)
            self.assertGreater(acknowledged, 20, "the load did not run")
            # The email index was rebuilt: a live user's email is taken, a deleted one's free.
            live = [i for i, n in expected.items() if n is not None]
            gone = [i for i, n in expected.items() if n is None]
            if live:
                with self.assertRaises(grpc.RpcError) as taken:
                    stub.CreateUser(user_pb2.CreateUserRequest(
                        name="dup", email=emails[live[0]]), timeout=5)
                self.assertEqual(taken.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
            if gone:
                reused = stub.CreateUser(user_pb2.CreateUserRequest(
                    name="reuse", email=emails[gone[0]]), timeout=5)
                expected[reused.id] = "reuse"
                emails[reused.id] = emails[gone[0]]
                emails.pop(gone[0])
                expected.pop(gone[0])
            self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_clean_stop_with_everysec_keeps_everything(self):
        server = self.start()
        stub = user_grpc.UserServiceStub(server.channel)
        made = {stub.CreateUser(user_pb2.CreateUserRequest(name="n%d" % i,
                                                           email="e%d@example.com" % i),
                                timeout=5).id for i in range(200)}
        self.assertEqual(server.stop(), 0, server.stderr_text())
        server = self.start(shards=1)
        try:
            self.assertEqual(set(list_users(user_grpc.UserServiceStub(server.channel))), made)
            self.assertIn("recovered 200 users", server.stderr_text())
        finally:
            server.stop()

    def test_torn_tail_is_dropped_and_mid_log_damage_refuses(self):
        server = self.start("--fsync", "always", shards=1)
        stub = user_grpc.UserServiceStub(server.channel)
        ids = [stub.CreateUser(user_pb2.CreateUserRequest(name="t", email="t%d@example.com" % i),
                               timeout=5).id for i in range(20)]
        server.kill()
        log = live_log(self.data)
        size = os.path.getsize(log)
        with open(log, "ab") as f:
            f.write(b"\x40\x00\x00\x00\x01\x00\x00\x00partial")  # a record cut short
        server = self.start("--fsync", "always", shards=1)
        self.assertEqual(set(list_users(user_grpc.UserServiceStub(server.channel))), set(ids))
        self.assertIn("torn tail", server.stderr_text())
        self.assertGreater(size, 32)

        # Twenty more records in the new generation's log, then a byte flipped in the fifth.
        stub = user_grpc.UserServiceStub(server.channel)
        more = [stub.CreateUser(user_pb2.CreateUserRequest(name="m", email="m%d@example.com" % i),
                                timeout=5).id for i in range(20)]
        server.kill()
        log = live_log(self.data)
        with open(log, "r+b") as f:
            data = bytearray(f.read())
            offset = 32
            for _ in range(4):  # skip four records: 16-byte header + payload each
                offset += 16 + int.from_bytes(data[offset:offset + 4], "little")
            data[offset + 20] ^= 0x20
            f.seek(0)
            f.write(data)
        refused = subprocess.run([SERVER, "--listen", "127.0.0.1:0", "--shards", "1",
                                  "--services", "user", "--data-dir", self.data],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("%s: damaged record at offset %d" % (log, offset), refused.stderr)
        server = self.start("--recover-skip-corrupt", shards=1)
        try:
            now = set(list_users(user_grpc.UserServiceStub(server.channel)))
            self.assertEqual(len(now & set(more)), 19, "exactly the damaged record is skipped")
            self.assertTrue(set(ids) <= now)
            self.assertIn("skipped (--recover-skip-corrupt)", server.stderr_text())
        finally:
            server.stop()

    def test_second_server_on_the_same_directory_is_refused(self):
        server = self.start()
        try:
            second = subprocess.run([SERVER, "--listen", "127.0.0.1:0", "--services", "user",
                                     "--data-dir", self.data],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(second.returncode, 1, second.stderr)
            self.assertIn("in use by another percore-server (pid %d)" % server.proc.pid,
                          second.stderr)
        finally:
            server.stop()

    def test_fsync_needs_a_data_directory(self):
        for flags in (["--fsync", "always"], ["--recover-skip-corrupt"], ["--fsync", "sometimes",
                                                                          "--data-dir", "x"]):
            with self.subTest(flags=flags):
                proc = subprocess.run([SERVER, *flags], capture_output=True, text=True,
                                      timeout=10)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(flags[0], proc.stderr)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    user_pb2, user_grpc = stub_modules("user.v1.user")
    unittest.main()
