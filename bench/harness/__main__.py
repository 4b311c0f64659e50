"""`python3 -m harness` (what bench/run runs, with bench/ and tools/pylib on PYTHONPATH)."""

from harness import cli

cli.main()
