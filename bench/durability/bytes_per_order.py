"""Bytes per order (issue 10 item 5, issue 16): what one confirmed order costs durably and in
memory on a one-shard percore-server hosting user, inventory, payment and order with --data-dir.
N orders (one line, tok_approve, an idempotency key each) one after another; then:
  - log bytes per order, per store (percore_wal_bytes_total on /metrics);
  - snapshot bytes per order, per store: the server is restarted, and recovery writes each
    store's state as one snapshot per shard (what the disk holds for that history in steady
    state once the logs are cut);
  - resident memory per order (VmRSS after minus before, over N: allocator noise included).
Not a speed measurement, so a loaded machine does not matter.
Usage (from the checkout, after a release build):
  PYTHONPATH=tools/pylib /usr/bin/python3 bench/durability/bytes_per_order.py build/release [N]"""

import glob
import os
import re
import shutil
import sys
import tempfile
import uuid

from percore_py import admin
from percore_py.stubs import stub_module

STORES = ("users", "inventory", "payments", "orders")


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) * 1024


def wal_bytes(port):
    """{store: bytes} summed over shards."""
    found = {}
    for (name, labels), value in admin.metrics(port).items():
        if name == "percore_wal_bytes_total":
            store = dict(labels)["store"]
            found[store] = found.get(store, 0) + value
    return found


def snapshot_bytes(data_dir, store):
    return sum(os.path.getsize(p)
               for p in glob.glob(os.path.join(data_dir, store, "*", "shard-*.snap")))


def main(build, n):
    binary = os.path.join(build, "services/server/percore-server")
    data_dir = tempfile.mkdtemp(prefix="percore-bytes-per-order-", dir="/var/tmp")
    flags = ["--shards", "1", "--services", "user,inventory,payment,order", "--data-dir",
             data_dir, "--fsync", "no"]
    pb = {name: stub_module(name) for name in (
        "user.v1.user_pb2", "user.v1.user_pb2_grpc", "inventory.v1.inventory_pb2",
        "inventory.v1.inventory_pb2_grpc", "order.v1.order_pb2", "order.v1.order_pb2_grpc",
        "payment.v1.payment_pb2", "commerce.v1.money_pb2")}
    try:
        server, port = admin.start_with_admin(binary, *flags)
        users = pb["user.v1.user_pb2_grpc"].UserServiceStub(server.channel)
        inventory = pb["inventory.v1.inventory_pb2_grpc"].InventoryServiceStub(server.channel)
        orders = pb["order.v1.order_pb2_grpc"].OrderServiceStub(server.channel)
        tag = uuid.uuid4().hex[:8]
        user = users.CreateUser(pb["user.v1.user_pb2"].CreateUserRequest(
            name="Buyer", email="buyer-%s@example.com" % tag), timeout=30)
        inventory.CreateProduct(pb["inventory.v1.inventory_pb2"].CreateProductRequest(
            sku="sku-bytes", name="Widget",
            price=pb["commerce.v1.money_pb2"].Money(amount_minor=1250, currency="EUR"),
            initial_stock=10 * n), timeout=30)
        order_pb = pb["order.v1.order_pb2"]
        request = order_pb.CreateOrderRequest(
            user_id=user.id, items=[order_pb.LineItem(sku="sku-bytes", quantity=1)],
            payment_method=pb["payment.v1.payment_pb2"].PaymentMethod(token="tok_approve"))
        log_before, rss_before = wal_bytes(port), rss_bytes(server.proc.pid)
        for i in range(n):
            request.idempotency_key = "order-%s-%d" % (tag, i)
            order = orders.CreateOrder(request, timeout=60)
            assert order_pb.OrderStatus.Name(order.status) == "ORDER_STATUS_CONFIRMED", order
        log_after, rss_after = wal_bytes(port), rss_bytes(server.proc.pid)
        server.stop()
        server, port = admin.start_with_admin(binary, *flags)  # recovery writes the snapshots
        server.stop()
        print("%d orders, one shard, --data-dir %s" % (n, data_dir))
        total_log = total_snap = 0
        for store in STORES:
            log = log_after.get(store, 0) - log_before.get(store, 0)
            snap = snapshot_bytes(data_dir, store) if store != "users" else 0
            total_log += log
            total_snap += snap
            print("  %-9s log %7.1f B/order   snapshot %7.1f B/order" % (
                store, log / n, snap / n))
        print("  %-9s log %7.1f B/order   snapshot %7.1f B/order" % (
            "all", total_log / n, total_snap / n))
        print("  resident memory %.1f B/order (VmRSS %d -> %d)" % (
            (rss_after - rss_before) / n, rss_before, rss_after))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
