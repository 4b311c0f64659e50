"""Checks grpcgo-baseline (the grpc-go baseline bench/run measures) with Python's grpcio, a
client neither side wrote, started the way bench/run starts it (GOMAXPROCS=1): GetUser
NOT_FOUND for an unknown id; CreateUser then GetUser answers the created user (UUIDv7 id,
created_at == updated_at); INVALID_ARGUMENT for a bad CreateUser and a negative page_size;
ListUsers streams the users in id order (page_size 0 is 100, pages linked by the
next-page-token trailer, 1000 at most per page); UNIMPLEMENTED for the methods it does not
serve; reflection lists user.v1.UserService and health answers SERVING; SIGTERM exits 0.
Not part of tools/test (Go is only in `tools/bootstrap --bench`): bench/run runs it before it
measures grpc-go, and by hand:

  PYTHONPATH=tools/pylib python3 bench/baseline/go/check_grpcgo.py \
      build/release/bench/baseline/go/grpcgo-baseline

Exits non-zero on the first failure."""

import re
import sys

import grpc
from percore_py.checks import expect, expect_code, expect_reads_only, list_page
from percore_py.server import Server
from percore_py.stubs import stub_modules

TIMEOUT = 10
USERS = 1050  # more than one capped page
UUID_V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def check(binary):
    pb, pb_grpc = stub_modules("user.v1.user")
    health, health_grpc = stub_modules("grpc.health.v1.health")
    refl, refl_grpc = stub_modules("grpc.reflection.v1alpha.reflection")
    server = Server(binary, "--shutdown-grace", "1", wrapper=["env", "GOMAXPROCS=1"])
    try:
        stub = pb_grpc.UserServiceStub(server.channel)
        expect_code(grpc.StatusCode.NOT_FOUND, stub.GetUser,
                    pb.GetUserRequest(id="00000000-0000-7000-8000-000000000000"))

        first = stub.CreateUser(pb.CreateUserRequest(name="Ada", email="ada@example.com",
                                                     roles=["admin"]), timeout=TIMEOUT)
        expect(UUID_V7.match(first.id), "id %r is not a lowercase UUIDv7" % first.id)
        expect(first.name == "Ada" and first.email == "ada@example.com" and
               list(first.roles) == ["admin"], "CreateUser answered %r" % first)
        expect(first.created_at.seconds > 0 and first.created_at == first.updated_at,
               "created_at/updated_at %r" % first)
        got = stub.GetUser(pb.GetUserRequest(id=first.id), timeout=TIMEOUT)
        expect(got == first, "GetUser answered %r, CreateUser %r" % (got, first))
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateUser,
                    pb.CreateUserRequest(name="", email="x@example.com"))
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.CreateUser,
                    pb.CreateUserRequest(name="X", email="no-at-sign"))

        futures = [stub.CreateUser.future(pb.CreateUserRequest(
            name="User %d" % i, email="user%d@example.com" % i), timeout=TIMEOUT)
            for i in range(USERS - 1)]
        created = [first] + [f.result() for f in futures]
        ids = sorted(u.id for u in created)
        expect(len(set(ids)) == USERS, "ids repeat")
        by_id = {u.id: u for u in created}

        users, token = list_page(pb, stub, 0)
        expect([u.id for u in users] == ids[:100] and token == ids[99],
               "page_size 0: %d users, token %r; want the first 100" % (len(users), token))
        walked, token, pages = [], "", 0
        while True:
            users, token = list_page(pb, stub, 400, token)
            walked += users
            pages += 1
            if not token or pages > 10:
                break
        expect(pages == 3 and [u.id for u in walked] == ids,
               "paging by 400: %d pages, %d users" % (pages, len(walked)))
        expect(all(u == by_id[u.id] for u in walked), "a listed user differs from the created")
        users, token = list_page(pb, stub, 5000)
        expect(len(users) == 1000 and token == ids[999], "page_size 5000: %d users, token %r"
               % (len(users), token))
        expect_reads_only(pb, stub, first.id)

        reply = health_grpc.HealthStub(server.channel).Check(
            health.HealthCheckRequest(service=""), timeout=TIMEOUT)
        expect(reply.status == health.HealthCheckResponse.SERVING, "health %r" % reply)
        answers = list(refl_grpc.ServerReflectionStub(server.channel).ServerReflectionInfo(
            iter([refl.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT))
        names = {s.name for s in answers[0].list_services_response.service}
        expect("user.v1.UserService" in names, "reflection lists %s" % sorted(names))
    except BaseException:
        server.kill()
        raise
    code = server.stop(timeout=15)
    expect(code == 0, "exit code %s after SIGTERM" % code)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check(sys.argv[1])
    print("grpcgo-baseline: ok")


if __name__ == "__main__":
    main()
