"""deploy/prometheus (issue 12): promtool accepts the configuration and both rule files, and the
rules' unit tests (percore_rules_test.yml: rates, error ratio, p99 from the histogram, shard busy
ratio, and when each alert fires) pass. The real Prometheus loading these files and scraping a
running server: admin_metrics_python's test_prometheus_scrapes_and_queries.
Usage: prometheus_deploy_test.py (no argument)"""

import os
import subprocess
import tempfile
import unittest

DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                      "prometheus")
RULES = ["percore_recording_rules.yml", "percore_alert_rules.yml"]


def promtool(*args):
    return subprocess.run(["promtool", *args], cwd=DEPLOY, capture_output=True, text=True,
                          timeout=60)


class PromtoolChecks(unittest.TestCase):
    def test_config_is_valid(self):
        proc = promtool("check", "config", "prometheus.yml")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("2 rule files found", proc.stdout)

    def test_rules_are_valid(self):
        proc = promtool("check", "rules", *RULES)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("7 rules found", proc.stdout)
        self.assertIn("4 rules found", proc.stdout)

    def test_rule_unit_tests_pass(self):
        proc = promtool("test", "rules", "percore_rules_test.yml")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("SUCCESS", proc.stdout)

    def test_a_broken_rule_file_is_refused(self):
        """The check above is not vacuous: promtool refuses a rule with a bad expression."""
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as broken:
            broken.write("groups:\n  - name: x\n    rules:\n      - record: a:b\n"
                         "        expr: rate(grpc_server_handled_total[1m]\n")
            broken.flush()
            proc = promtool("check", "rules", broken.name)
            self.assertNotEqual(proc.returncode, 0, proc.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
