#!/usr/bin/python3
"""Checks deploy/ against the code, since Docker and Kubernetes are not on the build machines:
every file the Dockerfile copies exists and its runtime packages provide every library the
binaries load; every flag the image, the unit and the manifests pass is a flag of the built
server; the systemd unit verifies; the YAML and JSON parse; every metric (and label) the
alert rules and the dashboard use is one a real server exports.

  deploy_test.py --root REPO --server-bin PATH --triagectl-bin PATH
"""
import argparse
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

ARGS = None


def server_flags():
    out = subprocess.run([ARGS.server_bin, "--helpfull"], capture_output=True, text=True).stdout
    return set(re.findall(r"^\s+--([a-z_]+) \(", out, re.M))


def flags_of(args):
    """The --name of every --name=value argument."""
    return [a[2:].split("=", 1)[0] for a in args if a.startswith("--")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dpkg_status():
    """Installed packages: name -> list of dependency alternatives lists."""
    packages, name, deps, installed = {}, None, [], False
    with open("/var/lib/dpkg/status", encoding="utf-8") as f:
        for line in f.read().split("\n") + [""]:
            if line.startswith("Package: "):
                name, deps, installed = line[9:].strip(), [], False
            elif line.startswith("Status: "):
                installed = line.endswith("installed") and "not-installed" not in line
            elif line.startswith(("Depends: ", "Pre-Depends: ")):
                for part in line.split(":", 1)[1].split(","):
                    deps.append([re.split(r"[ :(]", alt.strip())[0] for alt in part.split("|")])
            elif line == "" and name:
                if installed:
                    packages[name.split(":")[0]] = deps
                name = None
    return packages


def packages_of_binary(path):
    libs = re.findall(r"=> (/\S+)", subprocess.run(["ldd", path], capture_output=True,
                                                   text=True).stdout)
    found = set()
    for lib in libs:
        real = os.path.realpath(lib)
        for candidate in {lib, real, "/usr" + lib if not lib.startswith("/usr") else lib,
                          "/usr" + real if not real.startswith("/usr") else real}:
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                found.add(r.stdout.split(":")[0].strip())
                break
        else:
            raise AssertionError(f"no Debian package provides {lib}")
    return found


class Dockerfile(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ARGS.root, "deploy/docker/Dockerfile"), encoding="utf-8") as f:
            text = re.sub(r"\\\n", " ", f.read())
        self.lines = [l.strip() for l in text.split("\n") if l.strip() and not l.strip().startswith("#")]

    def instructions(self, name):
        return [l[len(name):].strip() for l in self.lines if l.upper().startswith(name + " ")]

    def runtime(self):
        start = max(i for i, l in enumerate(self.lines) if l.upper().startswith("FROM "))
        return self.lines[start:]

    def test_every_copied_file_exists(self):
        copies = self.instructions("COPY")
        self.assertGreater(len(copies), 5)
        for copy in copies:
            parts = shlex.split(copy)
            if any(p.startswith("--from") for p in parts):
                continue
            for source in parts[:-1]:
                self.assertTrue(os.path.exists(os.path.join(ARGS.root, source)), source)

    def test_stages_are_debian_12_and_the_runtime_is_not_root(self):
        for base in self.instructions("FROM"):
            self.assertRegex(base, r"^debian:12(-slim)?\b")
        users = [l for l in self.runtime() if l.upper().startswith("USER ")]
        self.assertTrue(users, "the runtime stage names a user")
        self.assertNotIn(users[-1].split()[1].split(":")[0], ("0", "root"))
        self.assertTrue(any("/var/lib/triage" in v for v in self.instructions("VOLUME")))

    def test_healthcheck_is_triagectl_health(self):
        (check,) = self.instructions("HEALTHCHECK")
        command = json.loads(check[check.index("["):])
        self.assertTrue(command[0].endswith("/triagectl"))
        self.assertEqual(command[-1], "health")

    def test_cmd_flags_are_server_flags(self):
        (cmd,) = self.instructions("CMD")
        flags = flags_of(json.loads(cmd))
        self.assertIn("data_dir", flags)
        self.assertLessEqual(set(flags), server_flags())

    def test_runtime_packages_provide_every_library_the_binaries_load(self):
        run = " ".join(l for l in self.runtime() if l.upper().startswith("RUN "))
        listed = re.search(r"apt-get install -y --no-install-recommends ([^&]+)", run).group(1).split()
        installed = dpkg_status()
        closure, pending = set(), list(listed) + ["libc6", "libgcc-s1", "libstdc++6"]  # in the base
        while pending:
            p = pending.pop()
            if p in closure:
                continue
            closure.add(p)
            for alternatives in installed.get(p, []):
                pending.append(next((a for a in alternatives if a in installed), alternatives[0]))
        for binary in (ARGS.server_bin, ARGS.triagectl_bin):
            missing = {p for p in packages_of_binary(binary) if not p.endswith("-i386")} - closure
            self.assertFalse(missing, f"{binary} needs {missing}, not in the runtime stage")


class Systemd(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(ARGS.root, "deploy/systemd/triage-server.service")
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()
        joined = re.sub(r"\\\n", " ", self.text)
        self.keys = {}
        for line in joined.split("\n"):
            if "=" in line and not line.startswith(("#", "[")):
                key, value = line.split("=", 1)
                self.keys.setdefault(key.strip(), []).append(value.strip())

    def test_flags_are_server_flags_and_credentials_are_loaded(self):
        (exec_start,) = self.keys["ExecStart"]
        args = exec_start.split()
        self.assertLessEqual(set(flags_of(args[1:])), server_flags())
        loaded = {v.split(":", 1)[0] for v in self.keys["LoadCredential"]}
        used = set(re.findall(r"%d/([\w.-]+)", exec_start))
        self.assertEqual(used, loaded)
        self.assertTrue({"key", "audit-key", "credentials"} <= used)

    def test_hardening_and_restart(self):
        for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                           ("Restart", "on-failure"), ("KillSignal", "SIGTERM")]:
            self.assertEqual(self.keys[key], [value], key)
        self.assertIn("triage", self.keys["StateDirectory"][0].split())
        self.assertNotIn(self.keys["User"][0], ("root", "0"))

    def test_stop_timeout_leaves_room_for_the_drain(self):
        grace = int(re.search(r"--shutdown_grace=(\d+)s", self.keys["ExecStart"][0]).group(1))
        stop = int(re.match(r"(\d+)s$", self.keys["TimeoutStopSec"][0]).group(1))
        self.assertGreater(stop, grace + 5)

    def test_systemd_analyze_verify_finds_nothing(self):
        if not os.path.exists("/usr/bin/systemd-analyze"):
            self.fail("systemd-analyze missing: scripts/install-deps.sh installs systemd")
        with tempfile.TemporaryDirectory() as d:
            unit = os.path.join(d, "triage-server.service")
            with open(unit, "w", encoding="utf-8") as f:
                f.write(self.text.replace("/usr/local/bin/triage-server", ARGS.server_bin))
            r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
            complaints = [l for l in (r.stdout + r.stderr).splitlines() if "triage-server.service" in l]
            self.assertEqual(complaints, [])


class Kubernetes(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(ARGS.root, "deploy/kubernetes")
        self.docs = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                self.docs += [(name, d) for d in yaml.safe_load_all(f) if d]

    def kind(self, kind):
        return [d for _, d in self.docs if d.get("kind") == kind]

    def test_kustomization_lists_files_that_exist(self):
        (k,) = self.kind("Kustomization")
        for resource in k["resources"]:
            self.assertTrue(os.path.exists(os.path.join(self.dir, resource)), resource)

    def test_one_replica_on_a_claim_with_real_flags_and_grpc_health_probes(self):
        (sts,) = self.kind("StatefulSet")
        self.assertEqual(sts["spec"]["replicas"], 1)
        self.assertIn("data", [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]])
        pod = sts["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        (server,) = pod["containers"]
        self.assertLessEqual(set(flags_of(server["args"])), server_flags())
        ports = {p["name"]: p["containerPort"] for p in server["ports"]}
        args = dict(a[2:].split("=", 1) for a in server["args"])
        self.assertEqual(int(args["listen"].rsplit(":", 1)[1]), ports["grpc"])
        self.assertEqual(int(args["metrics_listen"].rsplit(":", 1)[1]), ports["metrics"])
        annotations = sts["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(int(annotations["prometheus.io/port"]), ports["metrics"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = server[probe]["exec"]["command"]
            self.assertTrue(command[0].endswith("triagectl") and command[-1] == "health", probe)
            self.assertIn(f"127.0.0.1:{ports['grpc']}", command)
        mounts = {m["name"]: m for m in server["volumeMounts"]}
        for flag in ("key_file", "audit_key_file", "credentials_file"):
            mount = next(m for m in mounts.values() if args[flag].startswith(m["mountPath"] + "/"))
            self.assertTrue(mount.get("readOnly"), f"{flag} is on a read-only mount")

    def test_a_network_policy_guards_the_pod(self):
        (policy,) = self.kind("NetworkPolicy")
        self.assertEqual(set(policy["spec"]["policyTypes"]), {"Ingress", "Egress"})
        self.assertEqual(policy["spec"]["egress"], [])
        # Every way in names both a namespace and the pods in it (a peer with only a
        # namespaceSelector admits every pod of that namespace), on one port each.
        ports = set()
        for rule in policy["spec"]["ingress"]:
            for peer in rule["from"]:
                self.assertTrue(peer.get("namespaceSelector", {}).get("matchLabels"), peer)
                self.assertTrue(peer.get("podSelector", {}).get("matchLabels"), peer)
            self.assertEqual(len(rule["ports"]), 1, rule)
            ports.add(rule["ports"][0]["port"])
        self.assertEqual(ports, {50051, 9464})


def start_server():
    """A real server on loopback with one submit made, so the RPC series exist too."""
    d = tempfile.mkdtemp(prefix="deploy-test-")
    for name in ("key", "audit-key"):
        with open(os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(32))
    creds = os.path.join(d, "credentials")
    token = subprocess.run([ARGS.triagectl_bin, "admin", "add-token", "--credentials-file", creds,
                            "--principal", "deploy-test", "--role", "intake"],
                           capture_output=True, text=True, check=True).stdout.strip()
    grpc_port, metrics_port = free_port(), free_port()
    server = subprocess.Popen(
        [ARGS.server_bin, f"--listen=127.0.0.1:{grpc_port}", f"--data_dir={d}/db",
         f"--key_file={d}/key", f"--audit_key_file={d}/audit-key", f"--credentials_file={creds}",
         f"--audit_anchor_file={d}/anchor", f"--metrics_listen=127.0.0.1:{metrics_port}",
         f"--backup_dir={d}/backups", "--insecure"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = [ARGS.triagectl_bin, "--server", f"127.0.0.1:{grpc_port}"]
    for _ in range(100):
        if subprocess.run(ctl + ["health"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(ctl + ["submit", "--reporter", "professional", "--role", "teacher", "--age", "9",
                          "--category", "grooming", "--channel", "online-chat",
                          "--description", "deploy test"],
                   env=dict(os.environ, TRIAGECTL_TOKEN=token), capture_output=True, check=True)
    return server, metrics_port


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, port = start_server()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        cls.families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        cls.labels = {}  # sample name -> {label: set(values)}
        for name, labels in re.findall(r"^([a-z_:]+)\{([^}]*)\}", text, re.M):
            for key, value in re.findall(r'(\w+)="([^"]*)"', labels):
                cls.labels.setdefault(name, {}).setdefault(key, set()).add(value)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=30)

    def check_expr(self, expr, where):
        names = set(re.findall(r"\b(triage_[a-z0-9_]+)", expr))
        self.assertTrue(names or "up{" in expr, where)
        for name in names:
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in self.families else name
            self.assertIn(family, self.families, f"{where}: {name} is not exported")
        for name, selector in re.findall(r"\b(triage_[a-z0-9_]+)\{([^}]*)\}", expr):
            for key, op, value in re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"', selector):
                self.assertIn(key, self.labels.get(name, {}), f"{where}: {name} has no label {key}")
                if op == "=":
                    self.assertIn(value, self.labels[name][key], f"{where}: {name}{{{key}={value}}}")

    def test_alert_rules_use_exported_metrics(self):
        with open(os.path.join(ARGS.root, "deploy/prometheus/alerts.yaml"), encoding="utf-8") as f:
            rules = yaml.safe_load(f)
        alerts = [r for g in rules["groups"] for r in g["rules"]]
        names = {r["alert"] for r in alerts}
        for wanted in ("TriageImmediateReportWaiting", "TriageSlaBreached",
                       "TriageProfessionalReportsDown", "TriageStorageUnavailable",
                       "TriageAuditVerificationFailed"):
            self.assertIn(wanted, names)
        for rule in alerts:
            self.check_expr(rule["expr"], rule["alert"])

    def test_dashboard_uses_exported_metrics(self):
        with open(os.path.join(ARGS.root, "deploy/grafana/triage-dashboard.json"), encoding="utf-8") as f:
            dashboard = json.load(f)
        targets = [t for p in dashboard["panels"] for t in p["targets"]]
        self.assertGreater(len(targets), 8)
        for t in targets:
            self.check_expr(t["expr"], t["refId"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--triagectl-bin", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.server_bin = os.path.abspath(ARGS.server_bin)
    ARGS.triagectl_bin = os.path.abspath(ARGS.triagectl_bin)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
