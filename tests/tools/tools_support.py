"""Shared by the tools tests: the real percore-server on 127.0.0.1:0 and helpers that run
percore-load and percore-call as subprocesses, as a user would."""

import json
import os
import subprocess

from percore_py.server import Server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(REPO, "proto")
USER_PROTO = os.path.join(PROTO_DIR, "user", "v1", "user.proto")
TEST_PROTO = "/usr/share/grpc-proto/grpc/testing/test.proto"

# Set by the driver (tools_test.py) from its arguments.
PATHS = {"server": None, "load": None, "call": None}
SERVER = None
UNREACHABLE = "127.0.0.1:1"  # nothing listens on tcpmux


def start_server():
    global SERVER
    SERVER = Server(PATHS["server"], "--shards", "2", "--shutdown-grace", "2")
    return SERVER


def run(tool, *args, stdin=None, timeout=120):
    """Runs percore-load or percore-call; returns the CompletedProcess (text)."""
    return subprocess.run([PATHS[tool], *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def load_json(testcase, *args):
    """percore-load -O json against the test server; asserts exit 0 and returns the report."""
    result = run("load", "-O", "json", *args, SERVER.address)
    testcase.assertEqual(result.returncode, 0, result.stderr)
    return json.loads(result.stdout)


def start_load(*args):
    """percore-load -O json against the test server, left running (the caller interrupts it or
    waits with communicate())."""
    return subprocess.Popen([PATHS["load"], "-O", "json", *args, SERVER.address],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def call(*args, stdin=None):
    return run("call", SERVER.address, *args, stdin=stdin)


def call_ok(testcase, *args, stdin=None):
    """percore-call against the test server; asserts exit 0 and returns its stdout."""
    result = call(*args, stdin=stdin)
    testcase.assertEqual(result.returncode, 0, result.stderr)
    return result.stdout


def create_user(testcase, name, email):
    return json.loads(call_ok(testcase, "call", "user.v1.UserService.CreateUser", "--compact",
                              "-d", json.dumps({"name": name, "email": email})))


def connections_to(pid, port):
    """TCP connections the process `pid` has open to 127.0.0.1:`port` (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    # gRPC opens IPv4-mapped IPv6 sockets, which are listed in tcp6.
    for name in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, name)) as table:
            next(table)
            for row in table:
                fields = row.split()
                remote_port = int(fields[2].split(":")[1], 16)
                established = fields[3] == "01"
                if remote_port == port and established and fields[9] in inodes:
                    count += 1
    return count
