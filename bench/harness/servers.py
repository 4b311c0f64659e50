"""The servers bench/run measures: percore-server (1 or 2 shards, with or without
--minimal-stack) and percore-baseline in each mode, started pinned to the server CPU (or under
valgrind for the callgrind pass), and seeded with users through Python's grpcio."""

import grpc
from percore_py.server import Server
from percore_py.stubs import stub_modules

from harness import env


class Measured(Server):
    """A server under test, pinned to the server CPU (under `tool` when given), and the name it
    has in the report."""

    def __init__(self, name, command, tool=()):
        self.name = name
        super().__init__(command[0], *command[1:], wrapper=env.pin(env.SERVER_CPU, list(tool)))


def percore_cmd(shards, minimal_stack=False):
    """percore-server and its flags (--listen is added when it starts)."""
    return ([env.binary("services/server/percore-server"), "--shards", str(shards),
             "--services", "user", "--shutdown-grace", "1"] +
            (["--minimal-stack"] if minimal_stack else []))


def percore_server(shards, minimal_stack=False):
    name = "percore-%dshard%s" % (shards, "-minimal" if minimal_stack else "")
    return Measured(name, percore_cmd(shards, minimal_stack))


def baseline_cmd(mode):
    return [env.binary("bench/baseline/percore-baseline"), "--mode", mode, "--threads", "1",
            "--shutdown-grace", "1"]


def baseline_server(mode):
    return Measured("baseline-" + mode, baseline_cmd(mode))


def under_callgrind(name, command, out_file):
    """The server under valgrind --tool=callgrind, pinned like the others."""
    return Measured(name, command,
                    tool=["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file])


def seed(address, users):
    """Creates `users` users, 200 calls in flight at a time; returns their ids in order."""
    pb, pb_grpc = stub_modules("user.v1.user")
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.UserServiceStub(channel)
    futures = []
    ids = []
    for i in range(users):
        futures.append(stub.CreateUser.future(pb.CreateUserRequest(
            name="User %d" % i, email="user%d@example.com" % i, roles=["member"]), timeout=30))
        if len(futures) >= 200:
            ids += [f.result().id for f in futures]
            futures = []
    ids += [f.result().id for f in futures]
    channel.close()
    return ids
