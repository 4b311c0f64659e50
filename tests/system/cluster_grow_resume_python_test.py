"""A growth of a 2-partition percore cluster to 3 that fails part-way (services/cluster/GROWING.md,
"Failures"), through percore_py.grow (the procedure of `tools/cluster grow`):
- the tool killed after the first Switch (its test-only hook): the members are left frozen,
  writes refused; running grow again finishes it: every member unfrozen on the new placement,
  nothing lost, new users on partition 2;
- a member stopped (SIGSTOP) during the Switch step: the tool gives up (GrowthInterrupted);
  once the member runs again, running grow again finishes it;
- the tool killed after the first Switch and never run again: the freeze's lease runs out and
  the members settle it themselves (the ones not switched ask the others and switch too);
- the tool killed before any Switch and never run again: the lease runs out and the members
  abandon it (the old ones unfrozen on the old placement, the joining one stops itself); grow
  again then grows afresh;
- the moved email claims: after the switch the old partitions drop those they no longer own
  (the claims held over all members equal the users, not more), and a restart on the data
  directories does not bring them back (their drop is journaled).
Usage: cluster_grow_resume_python_test.py PATH/TO/percore-server"""

import os
import signal
import sys
import time
import unittest
import uuid

import grpc


from percore_py.grow import GrowthInterrupted, ToolKilled
from order_flow_support import pb
from user_cluster_support import owner_of_user, start_data_dir_cluster

SERVER = None
TIMEOUT = 30  # per call: a bound so that nothing hangs, not a claim about speed


class ClusterGrowResume(unittest.TestCase):
    def setUp(self):
        self.user_pb = pb("user.v1.user_pb2")
        self.admin_pb = pb("cluster.v1.cluster_admin_pb2")
        start_data_dir_cluster(self, SERVER, 2, "percore-cluster-grow-resume-",
                               ["--services", "user"], self.stop_cluster)
        self.channels = {}

    def stop_cluster(self):
        for channel in self.channels.values():
            channel.close()
        self.channels = {}
        for member in self.cluster.members:
            if member and member.proc.poll() is None:
                os.kill(member.proc.pid, signal.SIGCONT)
        self.cluster.stop()

    def channel(self, i):
        address = self.cluster.addresses[i]
        if address not in self.channels:
            self.channels[address] = grpc.insecure_channel(address)
        return self.channels[address]

    def users(self, i):
        return pb("user.v1.user_pb2_grpc").UserServiceStub(self.channel(i))

    def state(self, i):
        return pb("cluster.v1.cluster_admin_pb2_grpc").ClusterAdminStub(self.channel(i)).State(
            self.admin_pb.StateRequest(), timeout=TIMEOUT)

    def create_user(self, member):
        tag = uuid.uuid4().hex[:12]
        return self.users(member).CreateUser(
            self.user_pb.CreateUserRequest(name="Resume " + tag, email=tag + "@example.com"),
            timeout=TIMEOUT)

    def write_users(self):
        """Users on both partitions, half of them then moved to another email (so some claims
        are held by another partition's user: journaled claims)."""
        users = [self.create_user(i % 2) for i in range(16)]
        for user in users[:8]:
            user.email = "moved-%s@example.com" % uuid.uuid4().hex[:12]
            self.users(0).UpdateUser(self.user_pb.UpdateUserRequest(id=user.id, email=user.email),
                                     timeout=TIMEOUT)
        return users

    def owner_of_user(self, user_id):
        return owner_of_user(self, self.users, self.user_pb, user_id, TIMEOUT)

    def claims_held(self, members):
        return sum(self.state(i).claims_held for i in range(members))

    def assert_grown_and_whole(self, users, grown):
        """Every member unfrozen on the same 3-partition placement; every user and email there;
        no email claimable twice; one claim per user over all members; new users reach
        partition 2."""
        for i in range(3):
            state = self.state(i)
            self.assertEqual((state.partitions, state.frozen, state.grown, state.growing),
                             (3, False, grown, ""), "member %d" % i)
        for user in users:
            for member in range(3):
                got = self.users(member).GetUser(self.user_pb.GetUserRequest(id=user.id),
                                                 timeout=TIMEOUT)
                self.assertEqual(got.email, user.email)
        for user in users[::3]:
            with self.assertRaises(grpc.RpcError) as raised:
                self.users(2).CreateUser(self.user_pb.CreateUserRequest(
                    name="Twin", email=user.email.upper()), timeout=TIMEOUT)
            self.assertEqual(raised.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.assertEqual(self.claims_held(3), len(users))
        new = [self.create_user(i % 3) for i in range(24)]
        self.assertIn(2, {self.owner_of_user(u.id) for u in new})
        return new

    def wait_for(self, what, predicate, seconds=30):
        deadline = time.monotonic() + seconds
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "still not: " + what)
            time.sleep(0.2)

    # --- the tests -------------------------------------------------------------------------

    def test_tool_killed_after_a_switch_then_rerun_finishes_and_drops_moved_claims(self):
        users = self.write_users()
        self.assertEqual(self.claims_held(2), len(users))
        with self.assertRaises(ToolKilled):
            self.cluster.grow(3, fail_at="switched:1")
        first, second = self.state(0), self.state(1)
        self.assertTrue(first.frozen and first.switched, first)
        self.assertTrue(second.frozen and not second.switched, second)
        with self.assertRaises(grpc.RpcError) as raised:
            self.create_user(1)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)

        grown = self.cluster.grow(3)
        self.assertEqual(grown, first.growing)
        new = self.assert_grown_and_whole(users, grown)

        # A restart on the data directories: the dropped claims stay dropped.
        for channel in self.channels.values():
            channel.close()
        self.channels = {}
        for i in range(3):
            self.cluster.stop_member(i)
        for i in range(3):
            self.cluster.start_member(i)
        self.assertEqual(self.claims_held(3), len(users) + len(new))
        for user in users[:4]:
            self.assertEqual(self.users(1).GetUser(self.user_pb.GetUserRequest(id=user.id),
                                                   timeout=TIMEOUT).email, user.email)

    def test_member_stopped_during_the_switch_then_rerun_finishes(self):
        users = self.write_users()

        def on_step(line):
            if line == "switching":
                os.kill(self.cluster.members[1].proc.pid, signal.SIGSTOP)

        with self.assertRaises(GrowthInterrupted) as raised:
            self.cluster.grow(3, log=on_step, timeout=3)
        os.kill(self.cluster.members[1].proc.pid, signal.SIGCONT)
        grown = self.cluster.grow(3)
        self.assertEqual(grown, raised.exception.grown)
        self.assert_grown_and_whole(users, grown)

    def test_lease_runs_out_after_a_switch_members_finish_it_themselves(self):
        users = self.write_users()
        with self.assertRaises(ToolKilled):
            self.cluster.grow(3, fail_at="switched:1", lease_ms=3000)
        grown = self.state(0).growing
        self.wait_for("every member unfrozen on the new placement",
                      lambda: all(not self.state(i).frozen for i in range(3)))
        self.cluster.partitions, self.cluster.grown = 3, grown
        self.assert_grown_and_whole(users, grown)

    def test_lease_runs_out_before_any_switch_the_growth_is_abandoned(self):
        users = self.write_users()
        with self.assertRaises(ToolKilled):
            self.cluster.grow(3, fail_at="pulled", lease_ms=3000)
        grown = self.state(0).growing
        self.wait_for("the old members unfrozen on the old placement",
                      lambda: all(not self.state(i).frozen for i in range(2)))
        for i in range(2):
            state = self.state(i)
            self.assertEqual((state.partitions, state.growing, list(state.abandoned)),
                             (2, "", [grown]))
        self.wait_for("the joining member stopped",
                      lambda: self.cluster.members[2].proc.poll() is not None)
        self.assertEqual(self.claims_held(2), len(users))
        self.create_user(0)
        self.create_user(1)
        users += [None, None]  # two more claims
        grown = self.cluster.grow(3)
        self.assertNotEqual(grown, self.state(0).abandoned[0])
        self.assertEqual(self.claims_held(3), len(users))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main()
