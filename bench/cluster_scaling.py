#!/usr/bin/python3
"""GetUser and CreateOrder throughput through one member of a loopback cluster for P = 1, 2, 3,
and the cost of a forwarded call against a local one (issue 14's benchmark).
Usage, from a checkout on a quiet machine (one command; builds nothing, run tools/build first):
  bench/cluster_scaling.py [--duration 10s]
      [--partitions 1,2,3] [--users 2000] [--transport grpc|native] [--build build/release]
      [--out results.json]

Each P: a fresh cluster (tools/pylib/percore_py/cluster.py: every service, --shards 1 per member)
whose members are all pinned to the server CPU (bench/harness/env.py SERVER_CPU; percore-load on
LOAD_CPU), so every P has the same CPU and the figures show what partitioning costs, not what it
gains: on this 2-core machine the members share one core and P > 1 cannot scale out. Users are
created through member 0 (each lands on its email's partition), products with ample stock.
Then, all through member 0 with percore-load (-c 64, 2 connections, closed loop):
  - GetUser over every user (about (P-1)/P of the calls forwarded one hop);
  - CreateOrder of one unit over every user and SKU (forwarded to the user's partition, whose
    saga reserves on the SKU's and charges on the payment key's partition);
  - for P > 1, GetUser over member 0's own users only (local) and over the others' only
    (forwarded): the difference is the hop's cost.
Prints one line per run and, with --out, writes every figure as JSON."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tools", "pylib")]

import grpc  # noqa: E402

from harness import env, load  # noqa: E402
from percore_py.cluster import Cluster  # noqa: E402
from percore_py.stubs import stub_module, stub_modules  # noqa: E402

PROTO_ROOT = os.path.join(env.ROOT, "proto")
MARK = [("percore-forwarded-from", "99")]  # served only by the key's owner (others: UNAVAILABLE)


def proto_args(relative):
    return ["--proto", os.path.join(PROTO_ROOT, relative), "-i", PROTO_ROOT]


def start_cluster(partitions):
    cluster = Cluster(env.binary("services/server/percore-server"), partitions, shards=1)
    cluster.start()
    if env.cpus_available() > 1:
        for pid in cluster.pids():
            env.run(["taskset", "-a", "-c", "-p", env.SERVER_CPU, str(pid)],
                    stdout=subprocess.DEVNULL)
    return cluster


def seed(address, users, skus):
    """`users` users and `skus` products through `address`; their ids and SKUs."""
    user_pb, user_grpc = stub_modules("user.v1.user")
    inv_pb, inv_grpc = stub_modules("inventory.v1.inventory")
    money_pb = stub_module("commerce.v1.money_pb2")
    with grpc.insecure_channel(address) as channel:
        users_stub = user_grpc.UserServiceStub(channel)
        futures = [users_stub.CreateUser.future(user_pb.CreateUserRequest(
            name="Bench %d" % i, email="bench%d-%s@example.com" % (i, uuid.uuid4().hex[:6])),
            timeout=30) for i in range(users)]
        ids = [f.result().id for f in futures]
        inventory = inv_grpc.InventoryServiceStub(channel)
        names = ["bench-sku-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(skus)]
        for sku in names:
            inventory.CreateProduct(inv_pb.CreateProductRequest(
                sku=sku, name=sku, price=money_pb.Money(amount_minor=100, currency="USD"),
                initial_stock=1_000_000_000), timeout=30)
    return ids, names


def local_ids(address, ids):
    """The ids among `ids` that the member at `address` owns (a marked GetUser succeeds)."""
    user_pb, user_grpc = stub_modules("user.v1.user")
    mine = set()
    with grpc.insecure_channel(address) as channel:
        stub = user_grpc.UserServiceStub(channel)
        for user_id in ids:
            try:
                stub.GetUser(user_pb.GetUserRequest(id=user_id), timeout=30, metadata=MARK)
                mine.add(user_id)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
    return [i for i in ids if i in mine]


def run_load(address, call, proto, data, duration):
    cmd = [env.binary("tools/load/percore-load"), "--insecure", "--call", call, "-O", "json",
           "-c", "64", "--connections", "2", "-z", duration, "--duration-stop", "wait"]
    cmd += proto_args(proto)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
        cmd += ["-D", f.name, address]
    try:
        out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE).stdout
    finally:
        os.unlink(f.name)
    return load.summarize(json.loads(out))


def bench_partitions(partitions, args):
    cluster = start_cluster(partitions)
    figures = {}
    try:
        address = cluster.addresses[0]
        ids, skus = seed(address, args.users, 8)
        get = "user.v1.UserService.GetUser"
        runs = [("GetUser", get, "user/v1/user.proto", [{"id": i} for i in ids]),
                ("CreateOrder", "order.v1.OrderService.CreateOrder", "order/v1/order.proto",
                 [{"user_id": u, "items": [{"sku": skus[n % len(skus)], "quantity": "1"}],
                   "payment_method": {"token": "tok_approve"}} for n, u in enumerate(ids)])]
        if partitions > 1:
            mine = local_ids(address, ids)
            others = [i for i in ids if i not in set(mine)]
            runs += [("GetUser local", get, "user/v1/user.proto", [{"id": i} for i in mine]),
                     ("GetUser forwarded", get, "user/v1/user.proto",
                      [{"id": i} for i in others])]
        for name, call, proto, data in runs:
            if not data:
                continue
            result = run_load(address, call, proto, data, args.duration)
            figures[name] = result
            print("P=%d %-18s %9.0f req/s  p50 %7.0f us  p99 %7.0f us  errors %d" %
                  (partitions, name, result["rps"], result["p50_us"], result["p99_us"],
                   result["errors"]), flush=True)
    finally:
        cluster.stop()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", default="10s", help="each run, a ghz duration (10s)")
    parser.add_argument("--partitions", default="1,2,3", help="comma-separated P values")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--transport", choices=["grpc", "native"], default="grpc")
    parser.add_argument("--build", default=env.DEFAULT_BUILD)
    parser.add_argument("--out", help="write every figure here as JSON")
    args = parser.parse_args()
    env.use_build(os.path.abspath(args.build))
    os.environ["PERCORE_TRANSPORT"] = args.transport  # read by percore_py.server
    print("cpus: %d (members pinned to cpu %s, load to cpu %s); transport %s" %
          (env.cpus_available(), env.SERVER_CPU, env.LOAD_CPU, args.transport), flush=True)
    results = {}
    for p in [int(x) for x in args.partitions.split(",")]:
        results["P=%d" % p] = bench_partitions(p, args)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    bad = [(p, name) for p, runs in results.items() for name, r in runs.items()
           if r["errors"] or not r["ok"]]
    if bad:
        print("runs with errors or no OK call: %s" % bad, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
