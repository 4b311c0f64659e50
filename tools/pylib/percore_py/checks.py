"""The assertions the stand-alone checkers share (bench/baseline/check_baseline.py and
bench/baseline/go/check_grpcgo.py: scripts that stop at the first failure, outside unittest):
expect a condition, expect a call to fail with a code, read one ListUsers page with its
next-page-token trailer, the refusals of a baseline that serves only the reads."""

import grpc

TIMEOUT = 10


class CheckFailed(Exception):
    """A check did not hold: the message says what was expected and what came."""


def expect(condition, what):
    if not condition:
        raise CheckFailed(what)


def expect_code(code, fn, *args, **kwargs):
    """fn(*args) (a unary call or a stream, read to its status) must fail with `code`."""
    try:
        result = fn(*args, timeout=TIMEOUT, **kwargs)
        if hasattr(result, "__iter__") and not hasattr(result, "ByteSize"):
            list(result)
    except grpc.RpcError as e:
        expect(e.code() == code, "expected %s, got %s (%s)" % (code, e.code(), e.details()))
        return
    raise CheckFailed("expected %s, the call succeeded" % code)


def list_page(pb, stub, page_size, page_token=""):
    """One ListUsers call: (users, next-page-token or "")."""
    call = stub.ListUsers(pb.ListUsersRequest(page_size=page_size, page_token=page_token),
                          timeout=TIMEOUT)
    users = list(call)
    expect(call.code() == grpc.StatusCode.OK, "ListUsers ended with %s" % call.code())
    token = dict(call.trailing_metadata() or ()).get("next-page-token") or ""
    return users, token


def expect_reads_only(pb, stub, user_id):
    """A baseline serving GetUser and ListUsers alone: a negative page_size is INVALID_ARGUMENT,
    and the methods it does not serve answer UNIMPLEMENTED at once (not at the deadline)."""
    expect_code(grpc.StatusCode.INVALID_ARGUMENT, stub.ListUsers,
                pb.ListUsersRequest(page_size=-1))
    expect_code(grpc.StatusCode.UNIMPLEMENTED, stub.UpdateUser,
                pb.UpdateUserRequest(id=user_id, name="x"))
    expect_code(grpc.StatusCode.UNIMPLEMENTED, stub.DeleteUser, pb.DeleteUserRequest(id=user_id))
