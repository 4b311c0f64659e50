"""What /proc says about a process: its resident memory now and at its peak, and whether it
runs with AddressSanitizer."""


def _status_bytes(pid, field):
    """A memory line of /proc/PID/status ("VmRSS", "VmHWM") in bytes; 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid):
    """The process's resident memory (VmRSS), 0 once it is gone."""
    return _status_bytes(pid, "VmRSS")


def peak_rss_bytes(pid):
    """The process's peak resident memory (VmHWM), 0 once it is gone."""
    return _status_bytes(pid, "VmHWM")


def asan_built(pid):
    """Whether the process runs with AddressSanitizer: its allocator's redzones and quarantine
    (256 MB by default) make RSS say little about what the server itself keeps."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()
