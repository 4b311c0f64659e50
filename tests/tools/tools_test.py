"""System test of percore-load and percore-call: runs both as subprocesses against one real
percore-server (all services) started on 127.0.0.1:0, then stops it with SIGTERM.
Usage: tools_test.py PATH/TO/percore-server PATH/TO/percore-load PATH/TO/percore-call"""

import sys
import unittest

import call_tool_test
import load_tool_test
import tools_support


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    for key, path in zip(("server", "load", "call"), sys.argv[1:]):
        tools_support.PATHS[key] = path
    server = tools_support.start_server()
    try:
        loader = unittest.defaultTestLoader
        suite = unittest.TestSuite([loader.loadTestsFromModule(load_tool_test),
                                    loader.loadTestsFromModule(call_tool_test)])
        result = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        code = server.stop()
    if code != 0:
        print("percore-server exited %d after SIGTERM" % code)
    sys.exit(0 if result.wasSuccessful() and code == 0 else 1)


if __name__ == "__main__":
    main()
