"""What the durability tests share: DataDirTest, a unittest.TestCase whose every test gets a
fresh directory, `self.dir` (removed afterwards, whatever the outcome), and `self.data` inside it
for a percore-server's --data-dir; and kill_mid_load, the kill -9 in the middle of a load."""

import os
import shutil
import tempfile
import time
import unittest


class DataDirTest(unittest.TestCase):
    PREFIX = "percore-data-"  # a subclass names its own, to tell leftovers apart

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.PREFIX)
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.data = os.path.join(self.dir, "data")


def kill_mid_load(server, workers, seconds=1.5):
    """Starts the `workers` (threads that call `server` until it fails), SIGKILLs the server
    `seconds` later, and joins them: each has at most one call whose outcome it does not know."""
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    server.kill()
    for worker in workers:
        worker.join(timeout=10)
