"""What durability costs CreateUser and CreateOrder on one shard: the same closed loops
(percore-load -c 64; 30,000 distinct users, then 5,000 one-line orders paid tok_approve by one
user) against percore-server --shards 1 (pinned to CPU 0) hosting user, inventory, payment and
order, in memory and with --data-dir under each --fsync policy, in one run (issue 10's targets: everysec >= 90% of
in-memory, always >= 50%). The data directory is under /var/tmp: say which disk when quoting.
Usage (from the checkout, after a release build):
  PYTHONPATH=tools/pylib /usr/bin/python3 bench/durability/fsync_policies.py build/release
(optional: USERS ORDERS ROUNDS after the build directory, e.g. 300 100 for a quick check that it
runs; with ROUNDS > 1 the policies alternate and the medians are printed)"""

import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import env  # noqa: E402 (bench/ is on the path only now)
from harness.load import percore_load, summarize  # noqa: E402
from percore_py.server import Server  # noqa: E402
from percore_py.stubs import stub_module  # noqa: E402

ORDER_PROTO = ["--proto", os.path.join(env.ROOT, "proto/order/v1/order.proto"), "-i",
               os.path.join(env.ROOT, "proto")]
POLICIES = [("in-memory", []), ("no", ["--fsync", "no"]),
            ("everysec", ["--fsync", "everysec"]), ("always", ["--fsync", "always"])]


def main(build, user_count=30000, order_count=5000, rounds=1):
    env.use_build(build)
    binary = os.path.join(build, "services/server/percore-server")
    rates = {}
    for label, fsync in POLICIES * rounds:
        data_dir = tempfile.mkdtemp(prefix="percore-fsync-bench-", dir="/var/tmp")
        durable = ["--data-dir", data_dir] + fsync if fsync else []
        server = Server(binary, "--shards", "1", "--services", "user,inventory,payment,order",
                        *durable, wrapper=["taskset", "-c", "0"])
        stamp = int(time.time() * 1000)
        users = [{"name": "Load %d" % i, "email": "load%d-%d@example.com" % (i, stamp)}
                 for i in range(user_count)]
        try:
            reports = [("CreateUser", summarize(percore_load(
                server.address, "user.v1.UserService.CreateUser", users,
                ["-c", "64", "-n", str(len(users))])))]
            orders = order_requests(server, stamp, order_count)
            reports.append(("CreateOrder", summarize(percore_load(
                server.address, "order.v1.OrderService.CreateOrder", orders,
                ["-c", "64", "-n", str(len(orders))], ORDER_PROTO))))
        finally:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        for call, report in reports:
            rates.setdefault((label, call), []).append(report["rps"])
            print("%-9s %-11s %9.1f req/s  p50 %7.0f us  p99 %7.0f us  errors %d" % (
                label, call, report["rps"], report["p50_us"], report["p99_us"],
                report["errors"]), flush=True)
    if rounds > 1:
        for call in ("CreateUser", "CreateOrder"):
            base = statistics.median(rates[("in-memory", call)])
            print("medians of %d rounds, %s: " % (rounds, call) + ", ".join(
                "%s %.0f req/s (%.2fx)" % (label, statistics.median(rates[(label, call)]),
                                          statistics.median(rates[(label, call)]) / base)
                for label, _ in POLICIES), flush=True)


def order_requests(server, stamp, count):
    """`count` CreateOrder requests of one new user for one unit of a new product each."""
    user_pb, inv_pb = stub_module("user.v1.user_pb2"), stub_module("inventory.v1.inventory_pb2")
    users = stub_module("user.v1.user_pb2_grpc").UserServiceStub(server.channel)
    inventory = stub_module("inventory.v1.inventory_pb2_grpc").InventoryServiceStub(
        server.channel)
    user = users.CreateUser(user_pb.CreateUserRequest(
        name="Buyer", email="buyer-%d@example.com" % stamp), timeout=30)
    sku = "bench-%d" % stamp
    inventory.CreateProduct(inv_pb.CreateProductRequest(
        sku=sku, name="Widget", initial_stock=10 * count,
        price=stub_module("commerce.v1.money_pb2").Money(amount_minor=1250, currency="EUR")),
        timeout=30)
    return [{"user_id": user.id, "items": [{"sku": sku, "quantity": 1}],
             "payment_method": {"token": "tok_approve"}} for _ in range(count)]


if __name__ == "__main__":
    main(sys.argv[1], *(int(n) for n in sys.argv[2:5]))
