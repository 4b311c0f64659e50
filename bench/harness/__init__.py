"""bench/run's modules, one concept each (bench/run is the entry point; cli.py documents it):

  env        where things are (repo, build directory) and where they run (CPU pinning)
  servers    the servers under test: percore and the baselines, started pinned, seeded
  load       load generation: percore-load (ghz-compatible) and h2load, summarized
  profile    where the CPU went during a timed run (perf stat, /proc/stat, rusage)
  callgrind  instructions per call under valgrind --tool=callgrind, by where they ran
  scenarios  the timed runs against one server, and the watch fan-out
  report     the .md/.json/.png written to bench/results/
  targets    the report's verdicts against percore's targets and what bound each figure
  cli        the command line and the order of the whole run
"""
