"""percore_py: the Python helpers that the system tests, the tools tests, bench/run and the
baseline check share, kept in one place: generated grpcio stubs (stubs), a percore-server (or
percore-baseline) process on a free loopback port (server), and what /proc says about a process
(procfs); a P-partition cluster of servers (cluster) and a loopback etcd for its membership
(etcd); child processes killed at exit unless reaped, stopped SIGTERM then SIGKILL (children);
a raw HTTP/2 client (raw_h2) and frames and HPACK fields written byte by byte (h2_bytes).

Import it with tools/pylib on PYTHONPATH. The meson tests set it (`env` of each Python test),
and so do bench/run and tools/soak; by hand:

  PYTHONPATH=tools/pylib python3 tests/system/user_python_test.py \
      build/release/services/server/percore-server
"""
