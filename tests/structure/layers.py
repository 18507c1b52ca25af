#!/usr/bin/python3
"""The layers' includes go one way: services -> triage -> storage -> common.

CMake stops at configure time if a library links across a layer (CMakeLists.txt,
triage_forbid_link); this checks the sources, so a header cannot bring gRPC or a higher
layer in through an include that happens to resolve.

    tests/structure/layers.py ROOT
"""
import pathlib
import re
import sys

# directory -> include prefixes it must not use
# Metrics (prometheus-cpp) are wired in services/ only: the layers below report through
# plain hooks (e.g. storage::CommitterOptions::on_batch_synced).
FORBIDDEN = {
    "common": ("grpc", "grpcpp/", "rocksdb/", "storage/", "triage/", "services/", "tools/",
               "safeguarding/triage/v1/", "prometheus/"),
    "storage": ("grpc", "grpcpp/", "triage/", "services/", "tools/", "prometheus/"),
    "triage": ("grpc", "grpcpp/", "rocksdb/", "services/", "tools/", "prometheus/"),
    "tools/triagectl": ("rocksdb/", "storage/"),
}
# directory -> includes it may use although a prefix above forbids them, and why
ALLOWED = {
    # `admin restore` copies a backup's files back, offline; the client never opens the
    # database (backup.h needs no store and links only RocksDB's BackupEngine); it leaves
    # the record of the restore for the server's audit trail (restore_record.h, the same),
    # sealed with the audit key (key_ring.h reads key files and needs no RocksDB either).
    "tools/triagectl": ("storage/backup.h", "storage/key_ring.h", "storage/restore_record.h"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def main():
    root = pathlib.Path(sys.argv[1])
    problems = []
    for directory, forbidden in FORBIDDEN.items():
        for path in sorted((root / directory).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            for included in INCLUDE.findall(path.read_text()):
                # The generated contract's messages live under safeguarding/triage/v1/;
                # only their gRPC halves (*.grpc.pb.h) are gRPC.
                if included.endswith(".grpc.pb.h") and directory != "tools/triagectl":
                    problems.append(f"{path.relative_to(root)}: includes {included}")
                    continue
                if included.startswith(forbidden) and included not in ALLOWED.get(directory, ()):
                    problems.append(f"{path.relative_to(root)}: includes {included}")
    if problems:
        print("includes across layers:\n" + "\n".join(problems))
        return 1
    print("every include goes down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
