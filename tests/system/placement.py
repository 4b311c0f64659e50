"""The percore-server processes of one placement of the services, by name, for the order flow
test and the soak:
  one   one process ("all") hosts every service; they call each other in process;
  five  user, inventory, order and two payment replicas ("payment-0", "payment-1"), each its own
        percore-server on a loopback port; order reaches the others with --peer (gRPC,
        round_robin over the replicas).
Every process started is stopped by stop(), also when start() failed half-way. Faults: a
process killed (SIGKILL) and restarted on its port — empty, or from its own data directory when
the placement was given `data_root` (each process then runs with --data-dir DATA_ROOT/NAME) —
and a process frozen for a while (SIGSTOP, SIGCONT)."""

import os
import signal
import threading
import time

from percore_py.server import Server

SERVICES = {
    "user": "user.v1.UserService",
    "inventory": "inventory.v1.InventoryService",
    "payment": "payment.v1.PaymentService",
    "order": "order.v1.OrderService",
}


class Placement:
    def __init__(self, binary, kind="five", shards=2, data_root=None):
        self.binary = binary
        self.kind = kind
        self.shards = shards
        self.data_root = data_root  # None: in memory only
        self.servers = {}  # name -> percore_py.server.Server
        self.flags = {}  # name -> the flags it was started with (a restart reuses them)
        self.restarted = set()  # processes killed and started again since the start
        self.killed = {}  # name -> its killed incarnations (Server), for their stderr
        self.lock = threading.Lock()  # restart() against readers of `servers`

    def start_one(self, name, *flags):
        """Starts (or starts again) the process `name` with `flags` after the common ones."""
        self.flags.setdefault(name, flags)
        durable = []
        if self.data_root:
            durable = ["--data-dir", os.path.join(self.data_root, name)]
        server = Server(self.binary, "--shards", str(self.shards), "--shutdown-grace", "2",
                        *durable, *flags)
        self.servers[name] = server
        return server

    def start(self):
        if self.kind == "one":
            self.start_one("all")
            return
        user = self.start_one("user", "--services", "user")
        inventory = self.start_one("inventory", "--services", "inventory")
        pay = [self.start_one("payment-%d" % i, "--services", "payment") for i in range(2)]
        self.start_one("order", "--services", "order",
                       "--peer", "user=" + user.address,
                       "--peer", "inventory=" + inventory.address,
                       "--peer", "payment=%s,%s" % (pay[0].address, pay[1].address))

    def restart(self, name):
        """SIGKILLs the process `name` and starts it again with its flags on the same port:
        empty, or recovered from its data directory when the placement has a data_root."""
        with self.lock:
            self.kill(name)
            self.start_again(name)

    def kill(self, name):
        """SIGKILLs the process `name`; start_again(name) brings it back on its port."""
        self.servers[name].kill()
        self.killed.setdefault(name, []).append(self.servers[name])
        self.restarted.add(name)

    def start_again(self, name):
        """Starts the killed process `name` with its flags on its port, as restart() does."""
        port = self.servers[name].port
        for _ in range(50):  # the port is free once the process is gone
            try:
                self.start_one(name, *self.flags[name], "--listen", "127.0.0.1:%d" % port)
                return
            except RuntimeError:
                time.sleep(0.1)
        raise RuntimeError("could not restart %s on port %d" % (name, port))

    def restart_payment(self, name):
        """The payment replica `name` killed and started again (empty without a data_root)."""
        self.restart(name)

    def freeze(self, name, seconds):
        proc = self.servers[name].proc
        proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            proc.send_signal(signal.SIGCONT)

    def channel(self, service):
        """A channel to the process hosting `service` ("user", "order", ...)."""
        return self.servers["all" if self.kind == "one" else service].channel

    def payment_servers(self):
        if self.kind == "one":
            return [self.servers["all"]]
        return [s for name, s in self.servers.items() if name.startswith("payment-")]

    def hosted(self):
        """(server, full service names it hosts) for each process."""
        if self.kind == "one":
            return [(self.servers["all"], list(SERVICES.values()))]
        return [(s, [SERVICES[name.split("-")[0]]]) for name, s in self.servers.items()]

    def stop(self):
        """SIGTERM to every process; returns {name: exit code}."""
        # The order process first: it calls the others, which then have no callers left.
        return {name: self.servers[name].stop()
                for name in sorted(self.servers, key=lambda n: n != "order")}

    def stderr_lines(self, name):
        """The stderr lines of every incarnation of the process `name`, the killed ones first."""
        return [line for server in self.killed.get(name, []) + [self.servers[name]]
                for line in server.stderr_text().splitlines()]

    def stderr(self):
        return "\n".join("--- %s:\n%s" % (n, s.stderr_text()[-4000:])
                         for n, s in self.servers.items())
