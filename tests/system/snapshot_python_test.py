"""Snapshots while serving (--snapshot-every) and a full disk, on the real percore-server, driven
by Python grpcio (issue 10):
- users under --fsync always with a snapshot every few KiB of log, 4 writers, SIGKILL at a random
  moment (often mid-snapshot) over several rounds with a different --shards: every acknowledged
  create, update and delete is there after the restart, the email index agrees, and the log
  directory stays bounded (snapshots were taken while serving, the first segment is gone, at
  most a few segments per shard);
- orders with snapshots every 2 KiB: order_durability_python_test's kill -9 checks (acknowledged
  orders survive and replay by key; mid-load kill leaves every order final, books balanced) pass
  with snapshots taken all along;
- --idempotency-retention: a settled order's key is freed after the retention (a repeat makes a
  new order) and stays freed across kill -9; the orders themselves stay;
- a full disk: the server runs with a file size limit (RLIMIT_FSIZE set in the child before exec,
  raised later with prlimit: unprivileged, like a small tmpfs filling up). The write whose record
  meets the limit is answered UNAVAILABLE at once ("not acknowledged", outcome unknown), not held
  past its deadline; later writes are refused UNAVAILABLE naming the data directory, never
  acknowledged (none of them is there later), reads
  keep being served, the process does not die (SIGXFSZ is ignored), and writes resume once the
  limit is raised; a restart finds every acknowledged user.
Usage: snapshot_python_test.py PATH/TO/percore-server"""

import os
import random
import resource
import shutil
import sys
import tempfile
import time
import unittest

import grpc

from percore_py.server import Server
from percore_py.stubs import stub_modules

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import durability_python_test as users_test  # noqa: E402  (Writer, list_users, settle_writers)
import order_durability_python_test as orders_test  # noqa: E402

SERVER = None
user_pb2, user_grpc = None, None


def generation_dir(data_dir, store):
    root = os.path.join(data_dir, store)
    with open(os.path.join(root, "CURRENT")) as current:
        return os.path.join(root, current.read().strip())


def snapshot_cut(path):
    """The first LSN in a snapshot's header: the cut (0: the one written at start)."""
    with open(path, "rb") as f:
        header = f.read(32)
    return int.from_bytes(header[16:24], "little")


class UserSnapshots(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="percore-snapshots-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, shards, *flags, preexec_fn=None):
        return Server(SERVER, "--shards", str(shards), "--services", "user", "--data-dir",
                      self.data, "--fsync", "always", *flags, preexec_fn=preexec_fn)

    def test_kill_9_at_random_points_during_snapshots_keeps_every_acknowledged_write(self):
        rng = random.Random(int(os.environ.get("PERCORE_SNAPSHOT_SEED", "10")))
        rounds = int(os.environ.get("PERCORE_SNAPSHOT_ROUNDS", "4"))
        expected, emails = {}, {}
        taken_while_serving, killed_mid_snapshot = 0, 0
        for round_number in range(rounds):
            shards = (2, 1, 3, 2)[round_number % 4]
            server = self.start(shards, "--snapshot-every", "4KiB")
            stub = user_grpc.UserServiceStub(server.channel)
            recovered = users_test.list_users(stub)
            self.assertEqual({i: u.name for i, u in recovered.items()},
                             {i: n for i, n in expected.items() if n is not None},
                             "round %d: recovered users differ from the acknowledged ones"
                             % round_number)
            writers = [users_test.Writer(server.address, "r%dw%d" % (round_number, w))
                       for w in range(4)]
            for w in writers:
                w.start()
            gen = generation_dir(self.data, "users")
            if round_number % 2 == 0:
                time.sleep(rng.uniform(0.8, 2.0))
            else:  # kill while a snapshot is being written (its temporary file is there)
                time.sleep(0.5)
                deadline = time.time() + 5
                while (time.time() < deadline and
                       not any(n.endswith(".snap.tmp") for n in os.listdir(gen))):
                    time.sleep(0.0005)
            server.kill()
            for w in writers:
                w.join(timeout=10)
                w.close()
            names = os.listdir(gen)
            killed_mid_snapshot += any(n.endswith(".snap.tmp") for n in names)
            for shard in range(shards):
                segments = [n for n in names
                            if n.startswith("shard-%d." % shard) and n.endswith(".log")]
                snap = os.path.join(gen, "shard-%d.snap" % shard)
                if os.path.exists(snap) and snapshot_cut(snap) > 0:
                    taken_while_serving += 1
                    self.assertNotIn("shard-%d.log" % shard, segments,
                                     "the segment before the first cut was not deleted")
                # A cut every 4 KiB and a check every 100 ms: a few segments at most.
                self.assertLessEqual(len(segments), 3, names)
            # Settle the one unknown outcome per writer by looking after the restart.
            server = self.start(shards, "--snapshot-every", "4KiB")
            stub = user_grpc.UserServiceStub(server.channel)
            now = users_test.list_users(stub)
            acknowledged = users_test.settle_writers(self, writers, now, expected, emails)
            self.assertGreater(acknowledged, 20, "the load did not run")
            live = [i for i, n in expected.items() if n is not None]
            if live:  # the email index agrees with the rows
                with self.assertRaises(grpc.RpcError) as taken:
                    stub.CreateUser(user_pb2.CreateUserRequest(
                        name="dup", email=emails[rng.choice(live)]), timeout=5)
                self.assertEqual(taken.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
            self.assertEqual(server.stop(), 0, server.stderr_text())
        self.assertGreater(taken_while_serving, 0, "no snapshot was taken while serving")
        self.assertGreater(killed_mid_snapshot, 0, "no kill came during a snapshot")
        print("snapshots seen at kill: %d shard(s); killed mid-snapshot in %d of %d rounds"
              % (taken_while_serving, killed_mid_snapshot, rounds), file=sys.stderr)

    def test_full_disk_refuses_writes_serves_reads_and_resumes(self):
        limit = 96 << 10

        def small_files():
            # A file may not grow past `limit` (EFBIG, like ENOSPC); the hard limit stays, so
            # the test can raise the soft one later without privileges.
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

        server = self.start(1, "--snapshot-every", "0", preexec_fn=small_files)
        stub = user_grpc.UserServiceStub(server.channel)
        acked, refused, unknown = {}, [], []
        for n in range(5000):
            email = "full%d@example.com" % n
            try:
                user = stub.CreateUser(user_pb2.CreateUserRequest(name="n%d" % n, email=email),
                                       timeout=10)
                acked[user.id] = email
            except grpc.RpcError as e:
                # Answered at once, never held until the disk has room (past the deadline):
                # UNAVAILABLE naming the data directory, either refused before it was applied,
                # or (the write whose record met the limit) not acknowledged, outcome unknown.
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
                self.assertIn(self.data, e.details())
                if "not acknowledged" in e.details():
                    unknown.append(email)
                    continue
                refused.append(email)
                if len(refused) >= 20:
                    break
        self.assertGreater(len(acked), 100)
        self.assertEqual(len(refused), 20, "the log never filled up")
        self.assertGreaterEqual(len(unknown), 1, "no write met the limit")
        self.assertIsNone(server.proc.poll(), "the server died at the file size limit")
        # Reads are served while writes are refused.
        some = next(iter(acked))
        self.assertEqual(stub.GetUser(user_pb2.GetUserRequest(id=some), timeout=5).email,
                         acked[some])
        # Room again: writes resume by themselves (the writer retries every 200 ms).
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        deadline = time.time() + 10
        while True:
            try:
                user = stub.CreateUser(user_pb2.CreateUserRequest(
                    name="after", email="after@example.com"), timeout=2)
                acked[user.id] = "after@example.com"
                break
            except grpc.RpcError as e:
                self.assertIn(e.code(), (grpc.StatusCode.UNAVAILABLE,
                                         grpc.StatusCode.DEADLINE_EXCEEDED), e.details())
                self.assertLess(time.time(), deadline, "writes did not resume")
                time.sleep(0.1)
        server.kill()
        server = self.start(2)
        stub = user_grpc.UserServiceStub(server.channel)
        try:
            now = {u.email: i for i, u in users_test.list_users(stub).items()}
            for uid, email in acked.items():
                self.assertEqual(now.get(email), uid, "an acknowledged user was lost")
            for email in refused:
                self.assertNotIn(email, now, "a refused write was applied")
            self.assertLessEqual(len(now), len(acked) + len(unknown))
        finally:
            self.assertEqual(server.stop(), 0, server.stderr_text())


class OrderSnapshots(orders_test.OrderDurability):
    """order_durability_python_test's kill -9 cases, with snapshots every 2 KiB of log."""

    def start(self, name, *flags, admin=False):
        return super().start(name, "--snapshot-every", "2KiB", *flags, admin=admin)

    def test_snapshots_were_taken_while_serving(self):
        server = self.start("all", "--shards", "1", "--fsync", "always")
        s = orders_test.Stubs(server.channel)
        user = self.new_user(s)
        sku = self.new_product(s)
        made = [s.orders.CreateOrder(self.order_request(s, user, [(sku, 1)], "tok_approve"),
                                     timeout=orders_test.TIMEOUT) for _ in range(60)]
        gen = generation_dir(os.path.join(self.dir, "all"), "orders")
        deadline = time.time() + 10
        while snapshot_cut(os.path.join(gen, "shard-0.snap")) == 0:
            self.assertLess(time.time(), deadline, "no order snapshot while serving")
            time.sleep(0.05)
        self.kill(server)
        server = self.start("all", "--shards", "2", "--fsync", "always")
        s = orders_test.Stubs(server.channel)
        self.wait_serving(s)
        for order in made:
            self.assertEqual(s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order.id),
                                               timeout=orders_test.TIMEOUT), order)


class IdempotencyRetention(orders_test.OrderDurability):
    """--idempotency-retention: a settled order's key is kept for the retention, then freed (a
    repeat makes a new order), and stays freed after a kill -9 and restart; the orders stay."""

    def test_keys_of_settled_orders_expire_and_stay_expired_after_a_restart(self):
        flags = ("--shards", "2", "--fsync", "always", "--idempotency-retention", "1s")
        server = self.start("all", *flags)
        s = orders_test.Stubs(server.channel)
        user = self.new_user(s)
        sku = self.new_product(s)

        def create(key):
            return s.orders.CreateOrder(self.order_request(s, user, [(sku, 1)], "tok_approve",
                                                           key=key), timeout=orders_test.TIMEOUT)

        first = create("kept-then-freed")
        self.assertEqual(create("kept-then-freed").id, first.id, "a repeat within the retention")
        time.sleep(2.5)  # 1 s retention, swept every 250 ms
        second = create("kept-then-freed")
        self.assertNotEqual(second.id, first.id, "the key outlived its retention")
        old = create("old")
        time.sleep(2.5)
        self.kill(server)
        server = self.start("all", *flags)
        s = orders_test.Stubs(server.channel)
        self.wait_serving(s)
        third = create("old")
        self.assertNotIn(third.id, (old.id, first.id, second.id),
                         "an expired key came back with the restart")
        for order in (first, second, old):  # the orders themselves are kept
            self.assertEqual(s.orders.GetOrder(s.order_pb.GetOrderRequest(id=order.id),
                                               timeout=orders_test.TIMEOUT).id, order.id)
        with self.assertRaises(RuntimeError) as bad:
            Server(SERVER, "--idempotency-retention", "5 weeks")
        self.assertIn("--idempotency-retention", str(bad.exception))


# Only these of the order suite run here (the rest do not depend on the log's length).
for name in list(vars(orders_test.OrderDurability)):
    if name.startswith("test_"):
        setattr(IdempotencyRetention, name, None)
        if name not in ("test_acknowledged_orders_survive_kill_9_and_replays_return_them",
                        "test_kill_9_mid_load_leaves_every_order_final_and_the_books_balanced"):
            setattr(OrderSnapshots, name, None)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    user_pb2, user_grpc = stub_modules("user.v1.user")
    users_test.user_pb2, users_test.user_grpc = user_pb2, user_grpc
    users_test.SERVER = SERVER
    orders_test.SERVER = SERVER
    unittest.main(verbosity=2)
