"""The HTTP gateway against gRPC on the same server (issue 11's benchmark): one percore-server
with one shard and `--http`, the whole process pinned to CPU 0 (its shard and the gateway's
thread share that core), h2load pinned to CPU 1; in interleaved rounds, so noise shows:
  - GetUser over gRPC (h2load on pre-encoded frames, -c 2 -m 32, as bench/run),
  - GET /v1/users/{id} over HTTP/1.1 keep-alive (h2load --h1, -c 64: HTTP/1.1 has one request
    in flight per connection),
  - POST /v1/orders over HTTP/1.1 (order placement through the gateway) and CreateOrder over
    gRPC, for every service hosted in the process.
A separate transcoding proxy would add a hop per call: from the gRPC path's own figure, the note
states the rate such a proxy could reach at best (every proxy CPU-second spent on top).
Usage, from a checkout on a quiet machine:
  PYTHONPATH=bench:tools/pylib python3 bench/gateway/rest_vs_grpc.py BUILD [ROUNDS [SECONDS]]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import grpc
from percore_py.stubs import stub_modules

from harness import env, load, servers

USERS = 1000


def gateway_port(server):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        match = re.search(r"HTTP gateway listening on \S+ \(port (\d+)\)", server.stderr_text())
        if match:
            return int(match.group(1))
        time.sleep(0.02)
    raise RuntimeError("no gateway port in the log:\n" + server.stderr_text())


def seed(server):
    """USERS users and one product with stock for every order; (a user id, the sku)."""
    user_pb, user_grpc = stub_modules("user.v1.user")
    inv_pb, inv_grpc = stub_modules("inventory.v1.inventory")
    money_pb, _ = stub_modules("commerce.v1.money")
    channel = grpc.insecure_channel(server.address)
    users = user_grpc.UserServiceStub(channel)
    futures = [users.CreateUser.future(user_pb.CreateUserRequest(
        name="User %d" % i, email="user%d@example.com" % i), timeout=30) for i in range(USERS)]
    ids = [f.result().id for f in futures]
    sku = "bench-sku"
    inv_grpc.InventoryServiceStub(channel).CreateProduct(inv_pb.CreateProductRequest(
        sku=sku, name="Bench", price=money_pb.Money(amount_minor=100, currency="USD"),
        initial_stock=1_000_000_000), timeout=30)
    channel.close()
    return ids[len(ids) // 2], sku


def h2load(cmd):
    out = env.run(env.pin(env.LOAD_CPU, cmd), stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT).stdout
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    ok = re.search(r"status codes: (\d+) 2xx", out)
    if not rps or not ok or int(ok.group(1)) == 0:
        raise RuntimeError("h2load failed: %s\n%s" % (" ".join(cmd), out))
    return float(rps.group(1))


def grpc_rate(server, path, body, seconds):
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(load.grpc_frame(body))
        data = f.name
    try:
        return h2load(load.h2load_args(2, 32, ["-D", str(seconds)], data,
                                       "http://%s%s" % (server.address, path)))
    finally:
        os.unlink(data)


def rest_rate(port, path, seconds, body=None):
    cmd = ["h2load", "--h1", "-c", "64", "-m", "1", "-D", str(seconds)]
    data = None
    if body is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(body, f)
            data = f.name
        cmd += ["-H", "content-type: application/json", "-d", data]
    try:
        return h2load(cmd + ["http://127.0.0.1:%d%s" % (port, path)])
    finally:
        if data:
            os.unlink(data)


def create_order_request(user_id, sku):
    """order.v1.CreateOrderRequest{user_id, items [{sku, quantity 1}], payment_method{token}}."""
    order_pb, _ = stub_modules("order.v1.order")
    pay_pb, _ = stub_modules("payment.v1.payment")
    return order_pb.CreateOrderRequest(
        user_id=user_id, items=[order_pb.LineItem(sku=sku, quantity=1)],
        payment_method=pay_pb.PaymentMethod(token="tok_approve")).SerializeToString()


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    env.use_build(build)
    for r in range(rounds):
        for native in (False, True):
            cmd = [env.binary("services/server/percore-server"), "--shards", "1",
                   "--shutdown-grace", "1", "--http", "127.0.0.1:0"] + (
                       ["--transport", "native" if native else "grpc"])
            server = servers.Measured("percore", cmd)
            transport = "native" if native else "libgrpc"
            try:
                user_id, sku = seed(server)
                port = gateway_port(server)
                figures = [
                    ("GetUser gRPC", grpc_rate(server, "/user.v1.UserService/GetUser",
                                               load.get_user_request(user_id), seconds)),
                    ("GET /v1/users/{id}", rest_rate(port, "/v1/users/" + user_id, seconds)),
                    ("CreateOrder gRPC", grpc_rate(server, "/order.v1.OrderService/CreateOrder",
                                                   create_order_request(user_id, sku), seconds)),
                    ("POST /v1/orders", rest_rate(port, "/v1/orders", seconds, body={
                        "userId": user_id, "items": [{"sku": sku, "quantity": 1}],
                        "paymentMethod": {"token": "tok_approve"}})),
                ]
                for name, rate in figures:
                    print("round %d %-7s %-20s %9.0f req/s" % (r, transport, name, rate),
                          flush=True)
                print("round %d %-7s REST/gRPC GetUser %.2f, orders %.2f" % (
                    r, transport, figures[1][1] / figures[0][1], figures[3][1] / figures[2][1]),
                    flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
