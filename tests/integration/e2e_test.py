#!/usr/bin/python3
"""End-to-end checks of intake and the triage desk with two independent clients.

triagectl (our C++ client) and Python grpcio (Debian's python3-grpcio, a second, independent
gRPC implementation) each submit a report to a real triage-server process. The server is
killed with SIGKILL and restarted on the same data directory; both reports must come back
from GetReport through both clients. A bad report must be refused with INVALID_ARGUMENT
naming each bad field in google.rpc.BadRequest.

Loopback only; bounded in time; cleans up its temp dir.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

ARGS = None


def load_modules(python_dir):
    sys.path.insert(0, python_dir)
    global report_pb2, intake_pb2, triage_desk_pb2, status_pb2, error_details_pb2
    from safeguarding.triage.v1 import report_pb2, intake_pb2, triage_desk_pb2  # noqa: F401
    from google.rpc import status_pb2, error_details_pb2  # noqa: F401


class Server:
    """A triage-server child process listening on a free loopback port."""

    def __init__(self, data_dir, credentials, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [ARGS.server_bin, "--listen=127.0.0.1:0", "--data_dir=" + data_dir, "--insecure",
             "--credentials_file=" + credentials, "--key_file=" + data_dir + ".key",
             "--audit_key_file=" + data_dir + ".audit-key", "--metrics_listen=127.0.0.1:0"],
            stdout=self.log, stderr=self.log)
        self.address = self._wait_listening()

    def _wait_listening(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path, "r", errors="replace") as f:
                found = re.findall(r"listening on (\S+)", f.read())
            if found:
                return found[-1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("server did not start: " + open(self.log_path).read())

    def kill(self, sig):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


def triagectl(address, token, *args):
    env = dict(os.environ, TRIAGECTL_TOKEN=token)
    return subprocess.run([ARGS.triagectl_bin, "--server", address, "--json", *args],
                          capture_output=True, text=True, timeout=30, env=env)


def add_token(credentials, principal, role):
    """Creates a token with `triagectl admin add-token`, as an administrator would."""
    out = subprocess.run([ARGS.triagectl_bin, "admin", "add-token", "--credentials-file",
                          credentials, "--principal", principal, "--role", role],
                         capture_output=True, text=True, timeout=30, check=True)
    token = out.stdout.strip()
    assert token.startswith("sgt_"), out
    with open(credentials) as f:
        assert token not in f.read(), "the token itself must not be stored"
    return token


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                  grpc.StreamStreamClientInterceptor):
    """Adds 'authorization: Bearer <token>' to every call."""

    def __init__(self, token):
        self.token = token

    def _with_token(self, details):
        metadata = list(details.metadata or []) + [("authorization", "Bearer " + self.token)]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


class PythonClient:
    def __init__(self, address, token):
        self.channel = grpc.intercept_channel(grpc.insecure_channel(address),
                                              BearerToken(token))
        self.submit = self.channel.unary_unary(
            "/safeguarding.triage.v1.ReportIntake/SubmitReport",
            request_serializer=intake_pb2.SubmitReportRequest.SerializeToString,
            response_deserializer=intake_pb2.SubmitReportResponse.FromString)
        self.get = self.channel.unary_unary(
            "/safeguarding.triage.v1.TriageDesk/GetReport",
            request_serializer=triage_desk_pb2.GetReportRequest.SerializeToString,
            response_deserializer=report_pb2.Report.FromString)
        desk = "/safeguarding.triage.v1.TriageDesk/"
        d = triage_desk_pb2

        def unary(method, request_type, response_type):
            return self.channel.unary_unary(desk + method,
                                            request_serializer=request_type.SerializeToString,
                                            response_deserializer=response_type.FromString)
        self.list_queues = unary("ListQueues", d.ListQueuesRequest, d.ListQueuesResponse)
        self.claim = unary("ClaimNextReport", d.ClaimNextReportRequest, d.ClaimNextReportResponse)
        self.note = unary("AddNote", d.AddNoteRequest, report_pb2.ReportEvent)
        self.decide = unary("RecordDecision", d.RecordDecisionRequest, report_pb2.Report)
        self.history = unary("GetReportHistory", d.GetReportHistoryRequest,
                             d.GetReportHistoryResponse)
        self.watch = self.channel.unary_stream(
            desk + "WatchQueues", request_serializer=d.WatchQueuesRequest.SerializeToString,
            response_deserializer=d.QueueSummary.FromString)

    def close(self):
        self.channel.close()


def python_report(request_id):
    r = intake_pb2.SubmitReportRequest(request_id=request_id)
    s = r.report
    s.reporter.type = report_pb2.REPORTER_TYPE_PROFESSIONAL
    s.reporter.professional_role = report_pb2.PROFESSIONAL_ROLE_TEACHER
    s.child_age = 10
    s.categories.append(report_pb2.CONCERN_CATEGORY_SEXUAL_EXTORTION)
    s.channels.append(report_pb2.CHANNEL_MESSAGING)
    s.region = "Greater Manchester"
    s.description = "A pupil told me someone is threatening to share her photos."
    return r


class IntakeEndToEnd(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="triage-e2e-")
        self.data_dir = os.path.join(self.tmp, "db")
        self.credentials = os.path.join(self.tmp, "credentials")
        old_umask = os.umask(0o077)
        with open(self.data_dir + ".key", "wb") as f:
            f.write(os.urandom(32))
        with open(self.data_dir + ".audit-key", "wb") as f:
            f.write(os.urandom(32))
        os.umask(old_umask)
        self.intake_token = add_token(self.credentials, "web-form", "intake")
        self.triager_token = add_token(self.credentials, "alice", "triager")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name):
        server = Server(self.data_dir, self.credentials, os.path.join(self.tmp, name + ".log"))
        self.servers.append(server)
        return server

    def test_reports_from_both_clients_survive_sigkill(self):
        server = self.start("first")
        # 1. triagectl submit.
        out = triagectl(server.address, self.intake_token, "submit", "--reporter", "child", "--age", "13",
                        "--category", "grooming", "--channel", "online-gaming",
                        "--description", "A man in a game asked me for photos")
        self.assertEqual(out.returncode, 0, out.stderr)
        ctl_id = json.loads(out.stdout)["reportId"]
        # 2. Python grpcio submit.
        client = PythonClient(server.address, self.intake_token)
        py_request = python_report("python-e2e-1")
        py_response = client.submit(py_request, timeout=10)
        py_id = py_response.report_id
        self.assertEqual(len(py_id), 26)
        client.close()
        # 3. SIGKILL, restart on the same data dir.
        self.assertEqual(server.kill(signal.SIGKILL), -signal.SIGKILL)
        server = self.start("restarted")
        # 4. Both come back through both clients.
        client = PythonClient(server.address, self.triager_token)
        for report_id in (ctl_id, py_id):
            report = client.get(triage_desk_pb2.GetReportRequest(report_id=report_id),
                                timeout=10)
            self.assertEqual(report.id, report_id)
            shown = triagectl(server.address, self.triager_token, "show", report_id)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertEqual(json.loads(shown.stdout)["id"], report_id)
        py_report = client.get(triage_desk_pb2.GetReportRequest(report_id=py_id), timeout=10)
        self.assertEqual(py_report.submission, py_request.report)
        # Professional, sexual extortion, child of 10: URGENT raised to IMMEDIATE.
        self.assertEqual(py_report.triage.priority, report_pb2.PRIORITY_IMMEDIATE)
        self.assertEqual(py_report.triage.queue, "immediate")
        # A retry after the restart returns the first response, not a duplicate.
        client.close()
        client = PythonClient(server.address, self.intake_token)
        again = client.submit(py_request, timeout=10)
        self.assertEqual(again.report_id, py_id)
        client.close()
        self.assertEqual(server.kill(signal.SIGTERM), 0)

    def test_triagers_work_the_desk_from_python_grpcio(self):
        bob_token = add_token(self.credentials, "bob", "triager")  # before the server reads the file
        server = self.start("desk")
        intake = PythonClient(server.address, self.intake_token)
        # A teacher's report about a 10-year-old being extorted: URGENT, raised to IMMEDIATE.
        urgent_id = intake.submit(python_report("py-desk-1"), timeout=10).report_id
        out = triagectl(server.address, self.intake_token, "submit", "--reporter", "child",
                        "--age", "13", "--category", "grooming", "--description", "a message")
        self.assertEqual(out.returncode, 0, out.stderr)
        other_id = json.loads(out.stdout)["reportId"]
        intake.close()

        alice = PythonClient(server.address, self.triager_token)
        bob = PythonClient(server.address, bob_token)
        queues = {q.queue: q for q in alice.list_queues(triage_desk_pb2.ListQueuesRequest(),
                                                        timeout=10).queues}
        self.assertEqual(queues["immediate"].depth, 1)
        self.assertEqual(queues["child"].depth, 1)
        snapshot = alice.watch(triage_desk_pb2.WatchQueuesRequest(), timeout=10)
        self.assertIn(next(snapshot).queue, queues)
        snapshot.cancel()

        # Both claim at the same moment: two different reports, the most urgent to one.
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            a = pool.submit(alice.claim, triage_desk_pb2.ClaimNextReportRequest(), timeout=10)
            b = pool.submit(bob.claim, triage_desk_pb2.ClaimNextReportRequest(), timeout=10)
            claims = [a.result(), b.result()]
        self.assertEqual({c.report.id for c in claims}, {urgent_id, other_id})
        mine = claims[0] if claims[0].report.id == urgent_id else claims[1]
        holder = alice if mine is claims[0] else bob
        self.assertEqual(mine.report.triage.priority, report_pb2.PRIORITY_IMMEDIATE)
        self.assertIn("child-under-11-raise", mine.report.triage.matched_rules)
        self.assertIn("threatening to share", mine.report.submission.description)

        holder.note(triage_desk_pb2.AddNoteRequest(report_id=urgent_id,
                                                   text="school safeguarding lead told"),
                    timeout=10)
        closed = holder.decide(triage_desk_pb2.RecordDecisionRequest(
            report_id=urgent_id, claim_id=mine.claim.claim_id,
            outcome=report_pb2.OUTCOME_REFERRED_TO_POLICE, note="police informed"), timeout=10)
        self.assertEqual(closed.state, report_pb2.REPORT_STATE_CLOSED)
        events = holder.history(triage_desk_pb2.GetReportHistoryRequest(report_id=urgent_id),
                                timeout=10).events
        self.assertEqual([e.type for e in events],
                         [report_pb2.REPORT_EVENT_TYPE_SUBMITTED,
                          report_pb2.REPORT_EVENT_TYPE_CLAIMED,
                          report_pb2.REPORT_EVENT_TYPE_NOTE_ADDED,
                          report_pb2.REPORT_EVENT_TYPE_DECIDED])
        self.assertEqual(events[2].text, "school safeguarding lead told")
        with self.assertRaises(grpc.RpcError) as again:
            holder.decide(triage_desk_pb2.RecordDecisionRequest(
                report_id=urgent_id, claim_id=mine.claim.claim_id,
                outcome=report_pb2.OUTCOME_NO_FURTHER_ACTION), timeout=10)
        self.assertEqual(again.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        alice.close()
        bob.close()

    def test_intake_token_cannot_read_a_report(self):
        server = self.start("server")
        out = triagectl(server.address, self.intake_token, "submit", "--reporter", "child",
                        "--category", "grooming", "--description", "private words")
        self.assertEqual(out.returncode, 0, out.stderr)
        report_id = json.loads(out.stdout)["reportId"]
        denied = triagectl(server.address, self.intake_token, "show", report_id)
        self.assertEqual(denied.returncode, 3)
        self.assertIn("PERMISSION_DENIED", denied.stderr)
        self.assertNotIn("private words", denied.stdout + denied.stderr)
        anonymous = triagectl(server.address, "", "show", report_id)
        self.assertEqual(anonymous.returncode, 3)
        self.assertIn("UNAUTHENTICATED", anonymous.stderr)

    def test_admin_tools_rotate_the_key_and_verify_the_audit_trail(self):
        admin_token = add_token(self.credentials, "root-admin", "admin")
        supervisor_token = add_token(self.credentials, "sam", "supervisor")
        server = self.start("server")
        out = triagectl(server.address, self.intake_token, "submit", "--reporter", "child",
                        "--category", "grooming", "--description", "before rotation")
        self.assertEqual(out.returncode, 0, out.stderr)
        report_id = json.loads(out.stdout)["reportId"]
        rotated = triagectl(server.address, admin_token, "admin", "rotate-key")
        self.assertEqual(rotated.returncode, 0, rotated.stderr)
        self.assertEqual(len(json.loads(rotated.stdout)["keyId"]), 8)
        self.assertEqual(os.path.getsize(self.data_dir + ".key"), 64)
        with open(server.log_path, "r", errors="replace") as f:
            self.assertIn("data key rotated by root-admin: key %s is current"
                          % json.loads(rotated.stdout)["keyId"], f.read())
        shown = triagectl(server.address, self.triager_token, "show", report_id)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout)["submission"]["description"],
                         "before rotation")
        audit = triagectl(server.address, supervisor_token, "audit", "--report", report_id)
        self.assertEqual(audit.returncode, 0, audit.stderr)
        methods = [json.loads(chunk)["method"].rsplit("/", 1)[1]
                   for chunk in audit.stdout.replace("}\n{", "}\x00{").split("\x00")]
        self.assertEqual(methods, ["SubmitReport", "GetReport"])
        verified = triagectl(server.address, admin_token, "admin", "verify-audit")
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertTrue(json.loads(verified.stdout)["intact"])
        # A monitor may not rotate keys, a supervisor may not verify.
        self.assertEqual(triagectl(server.address, supervisor_token, "admin",
                                   "verify-audit").returncode, 3)

    def test_reflection_lists_the_services(self):
        server = self.start("server")
        channel = grpc.insecure_channel(server.address)
        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda b: b, response_deserializer=lambda b: b)
        # ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
        replies = list(reflect(iter([b"\x3a\x00"]), timeout=10))
        channel.close()
        self.assertEqual(len(replies), 1)
        for service in (b"safeguarding.triage.v1.ReportIntake",
                        b"safeguarding.triage.v1.TriageDesk", b"grpc.health.v1.Health"):
            self.assertIn(service, replies[0])

    def test_bad_report_is_invalid_argument_naming_each_field(self):
        server = self.start("server")
        client = PythonClient(server.address, self.intake_token)
        bad = intake_pb2.SubmitReportRequest(request_id="")
        bad.report.reporter.type = report_pb2.REPORTER_TYPE_CHILD
        bad.report.reporter.professional_role = report_pb2.PROFESSIONAL_ROLE_POLICE
        bad.report.child_age = 42
        bad.report.categories.append(report_pb2.CONCERN_CATEGORY_GROOMING)
        bad.report.categories.append(report_pb2.CONCERN_CATEGORY_GROOMING)
        bad.report.region = "x" * 65
        with self.assertRaises(grpc.RpcError) as caught:
            client.submit(bad, timeout=10)
        err = caught.exception
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        details = dict(err.trailing_metadata())["grpc-status-details-bin"]
        status = status_pb2.Status.FromString(details)
        bad_request = error_details_pb2.BadRequest()
        self.assertTrue(status.details[0].Unpack(bad_request))
        fields = [v.field for v in bad_request.field_violations]
        self.assertEqual(fields, ["request_id", "report.reporter.professional_role",
                                  "report.child_age", "report.categories[1]", "report.region",
                                  "report.description"])
        # triagectl shows the same violations and exits 3.
        out = subprocess.run([ARGS.triagectl_bin, "--server", server.address, "submit",
                              "--reporter", "child", "--age", "42", "--category", "grooming",
                              "--description", "x"], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, TRIAGECTL_TOKEN=self.intake_token))
        self.assertEqual(out.returncode, 3)
        self.assertIn("report.child_age: must be between 0 and 17", out.stderr)
        client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--triagectl-bin", required=True)
    parser.add_argument("--python-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    load_modules(ARGS.python_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
