"""A single-member etcd (Debian's etcd-server) on loopback for tests and tools/cluster: a
temporary data directory, free client and peer ports, started and stopped here (SIGTERM, then
SIGKILL), its data directory removed at stop. Like server.Server, a process started here and
not yet reaped is killed when the Python process exits. get()/keys() read keys with etcdctl
(Debian's etcd-client), as an operator would."""

import os
import shutil
import subprocess
import tempfile
import time

import requests

from percore_py import children
from percore_py.cluster import free_ports

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
class Etcd:
    def __init__(self, client_port=None, data_dir=None):
        ports = free_ports(2)
        self.client_port = client_port or ports[0]
        self.peer_port = ports[1]
        self.url = "http://127.0.0.1:%d" % self.client_port
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="percore-etcd-")
        self.proc = None

    def start(self, timeout=20):
        peer = "http://127.0.0.1:%d" % self.peer_port
        self._log = tempfile.TemporaryFile(mode="w+", prefix="percore-etcd-log-")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "percore-test", "--data-dir", self.data_dir,
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "percore-test=" + peer, "--initial-cluster-state", "new"],
            stdout=self._log, stderr=subprocess.STDOUT)
        children.track(self.proc)
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.url + "/health", timeout=1).json().get("health") == "true":
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("etcd did not start on %s: %s" % (self.url, self.log_text()[-2000:]))

    def log_text(self):
        self._log.seek(0)
        return self._log.read()

    def etcdctl(self, *args):
        return subprocess.run([ETCDCTL, "--endpoints", self.url, *args], check=True,
                              capture_output=True, text=True, timeout=10,
                              env={**os.environ, "ETCDCTL_API": "3"}).stdout

    def keys(self, prefix):
        """{key: value} of every key under `prefix`."""
        lines = self.etcdctl("get", "--prefix", prefix).splitlines()
        return dict(zip(lines[0::2], lines[1::2]))

    def stop(self, remove_data=True):
        """SIGTERM (SIGKILL after 10 s); the exit code. The data directory is removed unless
        `remove_data` is false (to start the same etcd again)."""
        code = None
        if self.proc is not None:
            code = children.terminate(self.proc)
            self.proc = None
        if remove_data and self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return code
