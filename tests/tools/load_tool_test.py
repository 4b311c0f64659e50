"""percore-load against the real percore-server: ghz's report keys and types, counts that add
up, status codes, round-robin data, --rps pacing, -z, streams, --proto, --connections, and
errors that name the problem."""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import tools_support as ts

UNKNOWN_ID = "00000000-0000-7000-8000-000000000000"
PERCENTAGES = [10, 25, 50, 75, 90, 95, 99, 99.9]
GHZ_KEYS = {"date": str, "endReason": str, "options": dict, "count": int, "total": int,
            "average": int, "fastest": int, "slowest": int, "rps": float,
            "errorDistribution": dict, "statusCodeDistribution": dict,
            "latencyDistribution": list, "histogram": list}


class LoadReportTest(unittest.TestCase):
    def test_json_report_has_every_ghz_key_with_its_type(self):
        report = ts.load_json(self, "--insecure", "--call", "grpc.testing.TestService.EmptyCall",
                              "-n", "40", "-c", "4")
        for key, kind in GHZ_KEYS.items():
            self.assertIn(key, report)
            self.assertIsInstance(report[key], kind, key)
        self.assertNotIn("details", report)
        self.assertNotIn("messagesReceived", report)  # unary: no stream totals
        self.assertEqual(report["endReason"], "normal")
        self.assertRegex(report["date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(report["count"], 40)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 40})
        self.assertEqual(report["errorDistribution"], {})
        self.assertLessEqual(report["fastest"], report["average"])
        self.assertLessEqual(report["average"], report["slowest"])
        self.assertGreater(report["fastest"], 0)
        self.assertAlmostEqual(report["rps"], 40 / (report["total"] / 1e9), delta=1)
        options = report["options"]
        self.assertEqual(options["call"], "grpc.testing.TestService.EmptyCall")
        self.assertEqual((options["total"], options["concurrency"]), (40, 4))

        points = report["latencyDistribution"]
        self.assertEqual([p["percentage"] for p in points], PERCENTAGES)
        latencies = [p["latency"] for p in points]
        self.assertEqual(latencies, sorted(latencies))
        for latency in latencies:
            self.assertIsInstance(latency, int)
            self.assertGreaterEqual(latency, report["fastest"])
            self.assertLessEqual(latency, report["slowest"])

        bars = report["histogram"]
        self.assertEqual(len(bars), 11)
        self.assertEqual(sum(b["count"] for b in bars), 40)
        self.assertAlmostEqual(sum(b["frequency"] for b in bars), 1.0, places=6)
        self.assertAlmostEqual(bars[0]["mark"], report["fastest"] / 1e9, places=9)
        self.assertAlmostEqual(bars[-1]["mark"], report["slowest"] / 1e9, places=9)
        self.assertGreater(bars[0]["count"], 0)  # the fastest call is in the first bar

    def test_details_only_when_asked(self):
        report = ts.load_json(self, "--call", "grpc.testing.TestService.EmptyCall", "-n", "12",
                              "-c", "3", "--details")
        self.assertEqual(len(report["details"]), 12)
        for d in report["details"]:
            self.assertEqual(set(d), {"timestamp", "latency", "error", "status"})
            self.assertEqual((d["status"], d["error"]), ("OK", ""))

    def test_unknown_ids_count_as_not_found(self):
        report = ts.load_json(self, "--call", "user.v1.UserService.GetUser", "-n", "30",
                              "-c", "5", "-d", json.dumps({"id": UNKNOWN_ID}))
        self.assertEqual(report["count"], 30)
        self.assertEqual(report["statusCodeDistribution"], {"NotFound": 30})
        (text, count), = report["errorDistribution"].items()
        self.assertEqual(count, 30)
        self.assertTrue(text.startswith("rpc error: code = NotFound desc = "), text)

    def test_data_array_is_used_round_robin(self):
        user = ts.create_user(self, "Round Robin", "round.robin@example.com")
        data = json.dumps([{"id": user["id"]}, {"id": UNKNOWN_ID}])
        report = ts.load_json(self, "--call", "user.v1.UserService/GetUser", "-n", "20",
                              "-c", "4", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 10, "NotFound": 10})

    def test_create_users_from_an_array_all_succeed(self):
        emails = ["load%02d@example.com" % i for i in range(25)]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump([{"name": "Load %d" % i, "email": e} for i, e in enumerate(emails)], f)
            f.flush()
            report = ts.load_json(self, "--call", "user.v1.UserService.CreateUser",
                                  "-n", "25", "-c", "5", "-D", f.name)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 25})
        listed = ts.call("call", "user.v1.UserService.ListUsers", "--compact",
                         "-d", '{"page_size": 1000}')
        self.assertEqual(listed.returncode, 0, listed.stderr)
        stored = {json.loads(line)["email"] for line in listed.stdout.splitlines()}
        self.assertTrue(set(emails) <= stored)
        # Once more: every email is taken now.
        again = ts.load_json(self, "--call", "user.v1.UserService.CreateUser", "-n", "25",
                             "-c", "5", "-d", json.dumps([{"name": "x", "email": e}
                                                          for e in emails]))
        self.assertEqual(again["statusCodeDistribution"], {"AlreadyExists": 25})

    def test_skip_first_leaves_results_out(self):
        report = ts.load_json(self, "--call", "grpc.testing.TestService.EmptyCall", "-n", "30",
                              "--skipFirst", "10")
        self.assertEqual(report["count"], 20)

    def test_summary_reads_like_ghz(self):
        result = ts.run("load", "--call", "user.v1.UserService.GetUser", "-n", "10",
                        "-d", json.dumps({"id": UNKNOWN_ID}), ts.SERVER.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        for line in ["Summary:", "Count:\t10", "Total:", "Slowest:", "Fastest:", "Average:",
                     "Requests/sec:", "Response time histogram:", "Latency distribution:",
                     "99.9 % in", "Status code distribution:", "[NotFound]\t10 responses",
                     "Error distribution:", "[10]\trpc error: code = NotFound"]:
            self.assertIn(line, result.stdout)

    def test_report_to_a_file(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "report.json")
            result = ts.run("load", "--call", "grpc.testing.TestService.EmptyCall", "-n", "5",
                            "-O", "json", "-o", path, ts.SERVER.address)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, "")
            with open(path) as f:
                self.assertEqual(json.load(f)["count"], 5)


class LoadPacingTest(unittest.TestCase):
    def test_rps_paces_the_run(self):
        # 40 calls at 80/s: the last is due at 39/80 s = 0.49 s.
        report = ts.load_json(self, "--call", "grpc.testing.TestService.EmptyCall", "-n", "40",
                              "--rps", "80", "-c", "10")
        self.assertEqual(report["count"], 40)
        seconds = report["total"] / 1e9
        self.assertGreater(seconds, 0.45)
        self.assertLess(seconds, 5)  # a hang guard (an unpaced run is caught above and below)
        self.assertLess(report["rps"], 90)

    def test_rps_latency_counts_from_the_intended_start(self):
        # One slot, 20/s, calls that take 200 ms: each call starts later than it was due, and
        # the report must show the wait (open loop), not just the 200 ms of service time.
        data = json.dumps({"response_parameters": [{"size": 1, "interval_us": 200000}]})
        report = ts.load_json(self, "--call", "grpc.testing.TestService.StreamingOutputCall",
                              "-n", "5", "-c", "1", "--rps", "20", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 5})
        # Call i is due at i*50 ms but starts at i*200 ms: the last waited 600 ms. Measured from
        # the actual start, every call would take the same 200 ms; from the intended start, the
        # last took at least 600 ms longer than the first (which starts when due) — compared
        # with each other, not with a wall-clock bound a slow sanitizer build could pass.
        self.assertGreater(report["slowest"], 700e6)
        self.assertGreater(report["slowest"] - report["fastest"], 500e6)

    def test_duration_ends_the_run(self):
        started = time.monotonic()
        report = ts.load_json(self, "--call", "grpc.testing.TestService.EmptyCall", "-z", "1s",
                              "-c", "8", "--duration-stop", "wait")
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(report["endReason"], "timeout")
        self.assertGreater(report["count"], 0)
        self.assertEqual(list(report["statusCodeDistribution"]), ["OK"])
        self.assertGreater(report["total"] / 1e9, 0.95)
        self.assertLess(report["total"] / 1e9, 2.5)

    def test_duration_with_rps(self):
        report = ts.load_json(self, "--call", "grpc.testing.TestService.EmptyCall", "-z", "1s",
                              "--rps", "50", "-c", "5")
        self.assertEqual(report["endReason"], "timeout")
        self.assertGreaterEqual(report["count"], 45)
        self.assertLessEqual(report["count"], 50)

    def test_interrupt_still_reports(self):
        started = time.monotonic()
        proc = ts.start_load("--call", "grpc.testing.TestService.EmptyCall", "-n", "100000000",
                             "-c", "4", "--rps", "500")
        # Calls flow once it is connected (a sanitizer build takes a while to get there).
        deadline = time.monotonic() + 30
        while (ts.connections_to(proc.pid, ts.SERVER.port) == 0 and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic() - started
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        report = json.loads(out)
        self.assertEqual(report["endReason"], "cancel")
        self.assertGreater(report["count"], 0)
        # Paced to the end: no more than 500/s for as long as it ran, far from the -n.
        self.assertLessEqual(report["count"], 500 * interrupted + 10)

    def test_connections_are_distinct(self):
        proc = ts.start_load("--call", "grpc.testing.TestService.EmptyCall", "-z", "3s", "-c", "6",
                             "--connections", "3", "--rps", "200")
        try:
            seen = 0
            deadline = time.monotonic() + 30  # a hang guard: the 3 s run ends the wait
            while time.monotonic() < deadline and seen < 3 and proc.poll() is None:
                time.sleep(0.1)
                try:
                    seen = max(seen, ts.connections_to(proc.pid, ts.SERVER.port))
                except OSError:
                    break  # it exited meanwhile
            self.assertEqual(seen, 3)
        finally:
            out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertGreater(json.loads(out)["count"], 0)


class LoadStreamTest(unittest.TestCase):
    def test_server_stream_counts_every_message(self):
        data = json.dumps({"response_parameters": [{"size": 1}, {"size": 2}, {"size": 3}]})
        report = ts.load_json(self, "--call", "grpc.testing.TestService.StreamingOutputCall",
                              "-n", "10", "-c", "2", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 10})
        self.assertEqual(report["messagesReceived"], 30)
        self.assertGreater(report["bytesReceived"], 0)
        self.assertGreater(report["messagesPerSecond"], 0)
        self.assertGreater(report["bytesPerSecond"], 0)

    def test_bidi_sends_the_array_on_each_stream(self):
        data = json.dumps([{"response_parameters": [{"size": 3}]},
                           {"response_parameters": [{"size": 2}, {"size": 1}]}])
        report = ts.load_json(self, "--call", "grpc.testing.TestService.FullDuplexCall",
                              "-n", "8", "-c", "4", "-d", data)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 8})
        self.assertEqual(report["messagesSent"], 16)
        self.assertEqual(report["messagesReceived"], 24)

    def test_client_stream_call_count_and_interval(self):
        report = ts.load_json(self, "--call", "grpc.testing.TestService.StreamingInputCall",
                              "-n", "4", "-c", "4", "--stream-call-count", "5",
                              "--stream-interval", "40ms",
                              "-d", json.dumps({"payload": {"body": "YWJj"}}))
        self.assertEqual(report["statusCodeDistribution"], {"OK": 4})
        self.assertEqual(report["messagesSent"], 20)
        self.assertEqual(report["messagesReceived"], 4)
        self.assertGreater(report["fastest"], 150e6)  # four pauses of 40 ms per stream

    def test_endless_stream_stops_after_stream_call_count(self):
        # A watch never ends by itself: --stream-call-count 1 ends it after one update, OK.
        user = ts.create_user(self, "Watched", "watched@example.com")
        proc = ts.start_load("--call", "user.v1.UserService.WatchUserUpdates", "-n", "1", "-c", "1",
                             "-t", "10s", "--stream-call-count", "1",
                             "-d", json.dumps({"user_id": user["id"]}))
        # An update made before the watch is open is not sent: update until one reaches it
        # (the first watch message ends the run), bounded against hangs.
        deadline = time.monotonic() + 30
        n = 0
        while proc.poll() is None and time.monotonic() < deadline:
            n += 1
            update = ts.call("call", "user.v1.UserService.UpdateUser",
                             "-d", json.dumps({"id": user["id"], "name": "Watched %d" % n}))
            self.assertEqual(update.returncode, 0, update.stderr)
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        report = json.loads(out)
        self.assertEqual(report["statusCodeDistribution"], {"OK": 1})
        self.assertEqual(report["messagesReceived"], 1)
        self.assertLess(report["slowest"], 5e9)


class LoadSchemaTest(unittest.TestCase):
    def test_proto_file_works_like_reflection(self):
        user = ts.create_user(self, "Proto", "proto@example.com")
        data = json.dumps({"id": user["id"]})
        for extra in (["--proto", ts.USER_PROTO, "-i", ts.PROTO_DIR], ["--proto", ts.USER_PROTO],
                      []):
            report = ts.load_json(self, *extra, "--call", "user.v1.UserService.GetUser",
                                  "-n", "10", "-d", data)
            self.assertEqual(report["statusCodeDistribution"], {"OK": 10}, extra)

    def test_proto_file_for_the_interop_service(self):
        report = ts.load_json(self, "--proto", ts.TEST_PROTO, "-i", "/usr/share/grpc-proto",
                              "--call", "grpc.testing.TestService.UnaryCall", "-n", "6",
                              "-d", '{"response_size": 16}')
        self.assertEqual(report["statusCodeDistribution"], {"OK": 6})


class LoadErrorTest(unittest.TestCase):
    def assert_fails(self, code, needle, *args):
        result = ts.run("load", *args, timeout=60)
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertIn(needle, result.stderr)
        self.assertEqual(result.stdout, "")
        return result

    def test_bad_flag(self):
        self.assert_fails(2, "--bogus", "--bogus", "--call", "a.B.C", ts.SERVER.address)
        self.assert_fails(2, "-c", "-c", "lots", "--call", "a.B.C", ts.SERVER.address)
        self.assert_fails(2, "--call is required", ts.SERVER.address)
        self.assert_fails(2, "unit", "--call", "a.B.C", "-z", "10", ts.SERVER.address)

    def test_unknown_method_and_service(self):
        r = self.assert_fails(1, "'Nope'", "--call", "user.v1.UserService.Nope",
                              ts.SERVER.address)
        self.assertIn("GetUser", r.stderr)  # lists what exists
        r = self.assert_fails(1, "'user.v9.UserService'", "--call", "user.v9.UserService.GetUser",
                              ts.SERVER.address)
        self.assertIn("user.v1.UserService", r.stderr)
        self.assert_fails(2, "package.Service.Method", "--call", "GetUser", ts.SERVER.address)

    def test_bad_json(self):
        self.assert_fails(2, "bad JSON", "--call", "user.v1.UserService.GetUser",
                          "-d", '{"id": ', ts.SERVER.address)
        self.assert_fails(2, "idd", "--call", "user.v1.UserService.GetUser",
                          "-d", '{"idd": "x"}', ts.SERVER.address)
        self.assert_fails(2, "metadata", "--call", "user.v1.UserService.GetUser",
                          "-m", '["x"]', ts.SERVER.address)

    def test_unreachable_server(self):
        started = time.monotonic()
        self.assert_fails(1, "cannot connect to " + ts.UNREACHABLE, "--call",
                          "user.v1.UserService.GetUser", ts.UNREACHABLE)
        self.assertLess(time.monotonic() - started, 5)  # fails fast, not at the timeout

    def test_bad_proto_file(self):
        self.assert_fails(2, "no/such.proto", "--proto", "no/such.proto",
                          "--call", "a.B.C", ts.SERVER.address)
