"""deploy/k8s rendered with `kubectl kustomize` (Debian's kubernetes-client, or the kubectl in
PERCORE_KUBECTL) and checked offline against percore-server itself: every flag of the percore
container is one `percore-server --help` lists, and the whole argument list is accepted by the
real binary's flag parser; the probes, ports and Services point at the ports the flags name;
terminationGracePeriodSeconds exceeds --shutdown-grace; CPU and memory requests equal limits
with whole CPUs, and --shards uses them; replicas = --partitions; the data volume is mounted at
--data-dir; --advertise names the governing headless Service; --etcd names the etcd pods and
their client port, and etcd's initial cluster lists every one of its replicas; every selector
(Services, PodDisruptionBudgets) matches its pods. No Kubernetes cluster runs here
(deploy/README.md says what this does and does not exercise).
Usage: k8s_manifests_test.py PATH/TO/percore-server"""

import os
import re
import shutil
import subprocess
import sys
import unittest

import yaml

SERVER = None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K8S = os.path.join(ROOT, "deploy", "k8s")


def kubectl():
    found = os.environ.get("PERCORE_KUBECTL") or shutil.which("kubectl")
    if not found:
        raise RuntimeError("no kubectl: tools/bootstrap installs Debian's kubernetes-client")
    return found


def flag_values(args):
    """{"--flag": value or True} from ["--flag=value", "--switch", ...]."""
    flags = {}
    for arg in args:
        name, _, value = arg.partition("=")
        flags[name] = value if "=" in arg else True
    return flags


def port_of(address):
    return int(address.rsplit(":", 1)[1])


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rendered = subprocess.run([kubectl(), "kustomize", K8S], capture_output=True, text=True,
                                  timeout=60)
        assert rendered.returncode == 0, rendered.stderr
        cls.objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
        cls.help = subprocess.run([SERVER, "--help"], capture_output=True, text=True,
                                  check=True).stdout

    def find(self, kind, name):
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
        self.fail("no %s %s in the rendered manifests" % (kind, name))

    def percore(self):
        sts = self.find("StatefulSet", "percore")
        (container,) = sts["spec"]["template"]["spec"]["containers"]
        return sts, container, flag_values(container["args"])

    def test_every_object_is_one_of_the_expected_kinds(self):
        kinds = sorted((o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in self.objects)
        self.assertEqual(kinds, sorted([
            ("apps/v1", "StatefulSet", "percore"),
            ("apps/v1", "StatefulSet", "percore-etcd"),
            ("v1", "Service", "percore"),
            ("v1", "Service", "percore-members"),
            ("v1", "Service", "percore-etcd"),
            ("policy/v1", "PodDisruptionBudget", "percore"),
            ("policy/v1", "PodDisruptionBudget", "percore-etcd"),
        ]))

    def test_every_flag_is_percore_servers_and_the_binary_accepts_them(self):
        _, container, flags = self.percore()
        self.assertEqual(container["command"], ["percore-server"])
        for name in flags:
            self.assertTrue(name.startswith("--"), name)
            self.assertIsNotNone(re.search(r"(?m)^\s+%s\b" % re.escape(name), self.help),
                                 "%s is not in percore-server --help" % name)
        # The real parser, on the arguments as the kubelet passes them: $(POD_NAME) expanded for
        # pod percore-1, and the host-name ordinal given directly (this host is no pod).
        args = [a.replace("$(POD_NAME)", "percore-1") for a in container["args"]]
        args = ["--partition=1" if a == "--partition-from-hostname" else a for a in args]
        parsed = subprocess.run([SERVER, *args, "--help"], capture_output=True, text=True)
        self.assertEqual(parsed.returncode, 0, parsed.stderr)
        env = {e["name"]: e for e in container["env"]}
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")

    def test_probes_and_ports_match_the_flags(self):
        sts, container, flags = self.percore()
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(ports["grpc"], port_of(flags["--listen"]))
        self.assertEqual(ports["health"], port_of(flags["--health-listen"]))
        self.assertEqual(ports["admin"], port_of(flags["--admin"]))
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertEqual(container[probe]["grpc"]["port"], port_of(flags["--health-listen"]),
                             probe)
        for name in ("percore", "percore-members"):
            (port,) = self.find("Service", name)["spec"]["ports"]
            self.assertEqual(port["targetPort"], "grpc")
        headless = self.find("Service", "percore-members")
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertEqual(sts["spec"]["serviceName"], "percore-members")
        # The address a member advertises is its pod's name under the governing Service.
        self.assertEqual(flags["--advertise"], "$(POD_NAME).percore-members:%d" % ports["grpc"])

    def test_grace_exceeds_shutdown_grace(self):
        sts, _, flags = self.percore()
        grace = sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        self.assertGreater(grace, float(flags["--shutdown-grace"]))

    def test_guaranteed_qos_whole_cpus_used_by_the_shards(self):
        _, container, flags = self.percore()
        resources = container["resources"]
        self.assertEqual(resources["requests"], resources["limits"])
        cpu = str(resources["limits"]["cpu"])
        self.assertRegex(cpu, r"^[1-9][0-9]*$", "whole CPUs for the static CPU manager")
        self.assertEqual(flags["--shards"], cpu)

    def test_partitions_are_the_replicas_and_data_lives_on_the_claim(self):
        sts, container, flags = self.percore()
        self.assertEqual(sts["spec"]["replicas"], int(flags["--partitions"]))
        self.assertIs(flags["--partition-from-hostname"], True)
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts[claim["metadata"]["name"]], flags["--data-dir"])

    def test_etcd_endpoints_are_the_etcd_pods(self):
        _, _, flags = self.percore()
        etcd = self.find("StatefulSet", "percore-etcd")
        replicas = etcd["spec"]["replicas"]
        service = self.find("Service", "percore-etcd")
        self.assertEqual(etcd["spec"]["serviceName"], "percore-etcd")
        client_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "client")
        expected = ["http://percore-etcd-%d.percore-etcd:%d" % (i, client_port)
                    for i in range(replicas)]
        self.assertEqual(flags["--etcd"].split(","), expected)
        (container,) = etcd["spec"]["template"]["spec"]["containers"]
        initial = flag_values(container["args"])["--initial-cluster"].split(",")
        self.assertEqual(initial, ["percore-etcd-%d=http://percore-etcd-%d.percore-etcd:2380"
                                   % (i, i) for i in range(replicas)])
        self.assertGreater(float(flags["--etcd-lease-ttl-seconds"]), 0)

    def test_selectors_match_their_pods(self):
        for sts_name, selected in (("percore", ["Service/percore", "Service/percore-members",
                                                "PodDisruptionBudget/percore"]),
                                   ("percore-etcd", ["Service/percore-etcd",
                                                     "PodDisruptionBudget/percore-etcd"])):
            sts = self.find("StatefulSet", sts_name)
            labels = sts["spec"]["template"]["metadata"]["labels"]
            match = sts["spec"]["selector"]["matchLabels"]
            self.assertLessEqual(match.items(), labels.items())
            for ref in selected:
                kind, name = ref.split("/")
                spec = self.find(kind, name)["spec"]
                selector = spec["selector"].get("matchLabels", spec["selector"])
                self.assertLessEqual(selector.items(), labels.items(), ref)
        pdb = self.find("PodDisruptionBudget", "percore")["spec"]
        self.assertEqual(pdb["maxUnavailable"], 1)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
