"""The soak's faults (issue 15), in turn, on the five-process placement whose processes all run
with --data-dir: each process is killed (SIGKILL) and restarted from its data directory, and
inventory, order and the payment replicas are frozen (SIGSTOP, SIGCONT) for a while.

The faults that can leave stock held until the reservation's ttl runs out come first in the
cycle. A ReserveStock answered after its caller's deadline (inventory or order frozen) or lost
with the process that made it (inventory killed after the hold was durable) is found by the
order's key and released by the saga before the order fails; but a release or that look-up can
give up while inventory is down, and then only the ttl frees the hold. `hold_risk_until` tells the final check how long to wait for such holds
to expire; with these faults early in a short run the wait stays short.

Threading: run() on one thread of its own; the others read hold_risk_until and count."""

import time

RESERVATION_TTL = 60  # seconds: services/order/order_options.h reservation_ttl
# (fault, process, whether it can leave a hold only the ttl frees)
CYCLE = [
    ("kill", "inventory", True),
    ("freeze", "inventory", True),
    ("kill", "order", True),
    ("freeze", "order", True),
    ("kill", "user", False),
    ("kill", "payment-1", False),
    ("freeze", "payment-0", False),
    ("kill", "payment-0", False),
    ("freeze", "payment-1", False),
]


def select(names):
    """The cycle's faults named in `names` ("kill:payment-1,freeze:inventory"; empty: all), in
    the cycle's order; ValueError naming an unknown one."""
    if not names:
        return list(CYCLE)
    wanted = names.split(",")
    known = {"%s:%s" % (fault, name) for fault, name, _ in CYCLE}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError("unknown fault %s (known: %s)" % (", ".join(unknown),
                                                            ", ".join(sorted(known))))
    return [f for f in CYCLE if "%s:%s" % (f[0], f[1]) in wanted]


class Faults:
    def __init__(self, placement, seconds, rnd, stop, log, cycle=CYCLE):
        self.placement = placement
        self.cycle = cycle
        # Spread one cycle over the run (a short soak sees each fault once); at most every 3 s.
        self.spacing = max(3.0, seconds / (len(cycle) + 1))
        self.random = rnd
        self.stop = stop
        self.log = log
        self.count = 0
        self.hold_risk_until = 0.0  # time.monotonic() by which any stray hold has expired

    def run(self):
        index = 0
        while not self.stop.wait(self.random.uniform(0.8, 1.2) * self.spacing):
            fault, name, hold_risk = self.cycle[index % len(self.cycle)]
            index += 1
            started = time.monotonic()
            if fault == "kill":
                self.placement.restart(name)
            else:
                self.placement.freeze(name, self.random.uniform(0.5, 2.5))
            if hold_risk:
                self.hold_risk_until = time.monotonic() + RESERVATION_TTL + 5
            self.count += 1
            self.log("soak: %s %s (%.1f s)" % (fault, name, time.monotonic() - started))
