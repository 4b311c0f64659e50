"""Checks percore-baseline in every mode with Python's grpcio (a client percore did not write):
the first stdout line, CreateUser x1000 (time-ordered ids, timestamps, INVALID_ARGUMENT),
GetUser (found; NOT_FOUND when missing; (stream-)ceiling mode: always its one prebuilt user),
ListUsers (default page 100, paging through the next-page-token trailer, the 1000 cap, negative
page_size; stream-ceiling mode: page_size copies of the prebuilt user, no token), UNIMPLEMENTED for the methods it does not serve, concurrent calls, a stream
cancelled half way, then SIGTERM (and once SIGINT) exiting 0; SIGTERM again under load with
streams stalled by a client that stopped reading (exit 0 after the grace period); bad flags exit
2; sync with --sync-max-threads answers only NOT_FOUND or RESOURCE_EXHAUSTED under concurrency.
Exits non-zero on any failure.

Usage: check_baseline.py PATH/TO/percore-baseline [--modes sync,async,...]
(with tools/pylib on PYTHONPATH: the stubs come from percore_py.stubs, generated with Debian's
protoc and grpc_python_plugin)."""

import argparse
import concurrent.futures
import re
import select
import signal
import subprocess
import sys
import threading
import time

import grpc

from percore_py.checks import CheckFailed, expect, expect_code, expect_reads_only, list_page
from percore_py.stubs import stub_modules

MODES = ["sync", "callback", "async", "ceiling", "stream-ceiling"]
USERS = 1000
TIMEOUT = 10
# percore-baseline's --shutdown-grace. gRPC's Server::Shutdown waits this long for a client
# that keeps a used connection open, as these checks do, so keep it short.
GRACE = 1
UUID_V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FIRST_LINE = re.compile(r"^percore-baseline \(([\w-]+)\) listening on (\S+):(\d+)$")


class Server:
    """The binary on a free port; `port` from its first stdout line."""

    def __init__(self, binary, mode, threads, grace=GRACE):
        self.proc = subprocess.Popen([binary, "--mode", mode, "--listen", "127.0.0.1:0",
                                      "--threads", str(threads), "--shutdown-grace", str(grace)],
                                     stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().rstrip("\n") if ready else ""
        match = FIRST_LINE.match(line)
        if not match:
            self.proc.kill()
            self.proc.wait()
            raise CheckFailed("first stdout line %r is not the listening line" % line)
        expect(match.group(1) == mode and match.group(2) == "127.0.0.1",
               "listening line %r names the wrong mode or host" % line)
        self.port = int(match.group(3))
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % self.port)
        grpc.channel_ready_future(self.channel).result(timeout=TIMEOUT)

    def stop(self, signum=signal.SIGTERM):
        """Signals the server with the channel still open (its calls still in flight) and
        returns the seconds it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise CheckFailed("did not exit within 15 s of %s" % signal.Signals(signum).name)
        finally:
            self.channel.close()
        expect(code == 0, "exit code %d after %s" % (code, signal.Signals(signum).name))
        return time.monotonic() - started

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_list(pb, stub, ids, created):
    """ListUsers over the store: pages of ascending ids linked by the next-page-token trailer."""
    users, token = list_page(pb, stub, 0)
    expect([u.id for u in users] == ids[:100], "page_size 0 is not the first 100 users")
    expect(token == ids[99], "page_size 0: token %r, want the 100th id" % token)
    walked, token, pages = [], "", 0
    while True:
        users, token = list_page(pb, stub, 300, token)
        walked.extend(users)
        pages += 1
        if not token:
            break
        expect(pages < 10, "paging does not end")
    expect(pages == 4 and [u.id for u in walked] == ids,
           "paging by 300 gave %d pages, %d users" % (pages, len(walked)))
    expect(walked == created, "listed users differ from the created ones")
    users, token = list_page(pb, stub, 5000)
    expect(len(users) == USERS and not token, "page_size 5000 over 1000 users: %d, token %r"
           % (len(users), token))
    extra = stub.CreateUser(pb.CreateUserRequest(name="Extra", email="extra@example.com"),
                            timeout=TIMEOUT)
    users, token = list_page(pb, stub, 5000)
    expect(len(users) == 1000 and token == ids[-1],
           "cap: %d users, token %r over 1001 users" % (len(users), token))
    users, token = list_page(pb, stub, 5, token)
    expect([u.id for u in users] == [extra.id] and not token, "last page after the cap")


def check_stream_ceiling_list(binary, pb, pb_grpc, prebuilt):
    """ListUsers in stream-ceiling mode: page_size copies of the prebuilt user (0: 100, at most
    1000), no page token. On a server of its own with one queue thread, as bench/run runs it,
    each stream on a new connection with nothing else on it: a stream whose first write held its
    headers back (buffer hint) stalled there for good (with more queue threads or other traffic,
    something else happened to make gRPC write)."""
    server = Server(binary, "stream-ceiling", 1)
    try:
        for page_size, want in ((0, 100), (7, 7), (1, 1), (5000, 1000)):
            with grpc.insecure_channel("127.0.0.1:%d" % server.port) as channel:
                users, token = list_page(pb, pb_grpc.UserServiceStub(channel), page_size)
            expect(len(users) == want and all(u == prebuilt for u in users) and not token,
                   "page_size %d: %d users, token %r" % (page_size, len(users), token))
        server.stop(signal.SIGTERM)
    finally:
        server.kill()


def check_mode(binary, pb, pb_grpc, mode):
    server = Server(binary, mode, 2)
    try:
        stub = pb_grpc.UserServiceStub(server.channel)

        created = []
        for i in range(USERS):
            user = stub.CreateUser(pb.CreateUserRequest(
                name="User %d" % i, email="user%d@example.com" % i, roles=["reader"]),
                timeout=TIMEOUT)
            created.append(user)
        ids = [u.id for u in created]
        expect(all(UUID_V7.match(i) for i in ids), "an id is not a lowercase UUIDv7: %r" % ids[:3])
        expect(ids == sorted(ids) and len(set(ids)) == USERS, "ids are not strictly ascending")
        first = created[0]
        expect(first.name == "User 0" and first.email == "user0@example.com"
               and list(first.roles) == ["reader"], "CreateUser returned %r" % first)
        expect(first.created_at.seconds > 0 and first.created_at == first.updated_at,
               "created_at/updated_at not set equal: %r" % first)
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateUser,
                    pb.CreateUserRequest(name="", email="x@example.com"))
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateUser,
                    pb.CreateUserRequest(name="X", email="no-at-sign"))

        some = created[417]
        got = stub.GetUser(pb.GetUserRequest(id=some.id), timeout=TIMEOUT)
        missing = "00000000-0000-7000-8000-000000000000"
        if mode in ("ceiling", "stream-ceiling"):
            expect(UUID_V7.match(got.id) and got.name and got.email and len(got.roles) == 1,
                   "ceiling GetUser answered %r" % got)
            again = stub.GetUser(pb.GetUserRequest(id=missing), timeout=TIMEOUT)
            expect(again == got, "ceiling GetUser answers differ")
        else:
            expect(got == some, "GetUser answered %r, created %r" % (got, some))
            expect_code(grpc.StatusCode.NOT_FOUND, stub.GetUser, pb.GetUserRequest(id=missing))

        if mode == "stream-ceiling":
            check_stream_ceiling_list(binary, pb, pb_grpc, got)
        else:
            check_list(pb, stub, ids, created)
        # Unserved methods answer at once rather than hanging until the deadline.
        expect_reads_only(pb, stub, some.id)

        # Many calls at once, spread over the server's threads.
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(stub.GetUser, pb.GetUserRequest(id=ids[i % USERS]),
                                   timeout=TIMEOUT) for i in range(400)]
            futures += [pool.submit(lambda: list_page(pb, stub, 50)) for _ in range(40)]
            for f in futures:
                f.result()

        # A stream abandoned half way; the server keeps serving.
        for _ in range(5):
            call = stub.ListUsers(pb.ListUsersRequest(page_size=1000), timeout=TIMEOUT)
            next(call)
            call.cancel()
        expect(len(list_page(pb, stub, 10)[0]) == 10, "serving after cancelled streams")

        server.stop(signal.SIGTERM)
    finally:
        server.kill()


def check_shutdown_under_load(binary, pb, pb_grpc, mode):
    """SIGTERM while GetUser calls keep coming and ListUsers streams are stalled by a client
    that stopped reading: the grace period runs out, the rest is cancelled, exit 0."""
    server = Server(binary, mode, 2)
    streams, threads, stop = [], [], []
    try:
        stub = pb_grpc.UserServiceStub(server.channel)
        big = "n" * 60000  # 1000 of them: far more than HTTP/2 flow control lets through unread
        ids = [stub.CreateUser(pb.CreateUserRequest(name=big, email="big%d@example.com" % i),
                               timeout=TIMEOUT).id for i in range(1000)]
        for _ in range(3):
            call = stub.ListUsers(pb.ListUsersRequest(page_size=1000), timeout=60)
            next(call)
            streams.append(call)

        def hammer(k):
            while not stop:
                try:
                    stub.GetUser(pb.GetUserRequest(id=ids[k]), timeout=TIMEOUT)
                except grpc.RpcError:
                    time.sleep(0.01)
                except ValueError:  # the channel was closed
                    return

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        took = server.stop(signal.SIGTERM)
        # Exiting before the grace period ran out means the streams were not stalled and this
        # check did not test what it says.
        expect(took >= GRACE * 0.9, "exited %.1fs after SIGTERM: the streams were not in flight"
               % took)
    finally:
        stop.append(True)
        for t in threads:
            t.join()
        for call in streams:
            call.cancel()
        server.kill()


def check_sigint(binary):
    server = Server(binary, "async", 2)
    try:
        server.stop(signal.SIGINT)
    finally:
        server.kill()


def check_flags(binary):
    """Bad command lines exit 2 before serving; sync with a hard thread cap sheds load with
    RESOURCE_EXHAUSTED rather than queueing (gRPC's behaviour, which the help text states)."""
    for flags in (["--mode", "sync", "--sync-max-threads", "1"], ["--listen", "127.0.0.1:0"],
                  ["--mode", "fast"], ["--mode", "async", "--threads", "0"],
                  ["--mode", "async", "--sync-max-threads", "4"],
                  ["--mode", "async", "--shutdown-grace", "-1"]):
        proc = subprocess.run([binary] + flags, capture_output=True, text=True, timeout=15)
        expect(proc.returncode == 2 and not proc.stdout,
               "%s: exit %d, stdout %r" % (" ".join(flags), proc.returncode, proc.stdout))
    proc = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=15)
    expect(proc.returncode == 0 and "--mode" in proc.stdout, "--help")


def check_sync_cap(binary, pb, pb_grpc):
    """--sync-max-threads 2: one thread handles, the other polls; calls that arrive while the
    handler is busy are refused, never queued."""
    proc = subprocess.Popen([binary, "--mode", "sync", "--listen", "127.0.0.1:0",
                             "--sync-max-threads", "2", "--shutdown-grace", str(GRACE)],
                            stdout=subprocess.PIPE, text=True)
    server = None
    try:
        line = proc.stdout.readline()
        port = int(FIRST_LINE.match(line.strip()).group(3))
        channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        stub = pb_grpc.UserServiceStub(channel)

        def get(_):
            try:
                stub.GetUser(pb.GetUserRequest(id="missing"), timeout=TIMEOUT)
            except grpc.RpcError as e:
                return e.code()

        expect(get(0) == grpc.StatusCode.NOT_FOUND, "one call at a time is served")
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = set(pool.map(get, range(800)))
        expect(codes <= {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.RESOURCE_EXHAUSTED},
               "codes %s" % codes)
        channel.close()
        proc.send_signal(signal.SIGTERM)
        expect(proc.wait(timeout=15) == 0, "exit code after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    pb, pb_grpc = stub_modules("user.v1.user")

    failures = 0
    checks = [(m, lambda m=m: check_mode(args.binary, pb, pb_grpc, m))
              for m in args.modes.split(",")]
    # Not stream-ceiling: its pages of small prebuilt users can fit in the flow-control window,
    # so no stream would stall, and its shutdown is async mode's.
    checks += [(m + " shutdown", lambda m=m: check_shutdown_under_load(args.binary, pb, pb_grpc, m))
               for m in args.modes.split(",") if m != "stream-ceiling"]
    checks.append(("async SIGINT", lambda: check_sigint(args.binary)))
    checks.append(("flags", lambda: check_flags(args.binary)))
    checks.append(("sync thread cap", lambda: check_sync_cap(args.binary, pb, pb_grpc)))
    for name, check in checks:
        started = time.monotonic()
        try:
            check()
            print("ok    %-17s %.1fs" % (name, time.monotonic() - started), flush=True)
        except Exception as e:  # noqa: BLE001 - report every mode, then fail
            failures += 1
            print("FAIL  %-17s %s: %s" % (name, type(e).__name__, e), flush=True)
    print("percore-baseline: %d passed, %d failed" % (len(checks) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
