"""Child processes the tests and tools start (servers, etcd, nghttpd): each one tracked until it
is reaped, killed when the Python process exits if it is not (a test that died half-way
leaves nothing behind), and stopped one way: SIGTERM, then SIGKILL after a timeout."""

import atexit
import signal
import subprocess

_LIVE = set()  # every child started here and not yet reaped


@atexit.register
def _kill_leftovers():
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def track(proc):
    """`proc` (a subprocess.Popen), killed at exit unless reaped by terminate() or kill()."""
    _LIVE.add(proc)
    return proc


def terminate(proc, timeout=10):
    """SIGTERM, then SIGKILL if `proc` has not exited after `timeout` s; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _LIVE.discard(proc)
    return proc.returncode


def kill(proc):
    """SIGKILL, as a crash, and reaped."""
    proc.kill()
    proc.wait()
    _LIVE.discard(proc)
