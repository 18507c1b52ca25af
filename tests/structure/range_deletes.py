#!/usr/bin/python3
"""No range delete goes to a column family whose memtable inserts take a hint.

RocksDB 7.8 keeps one table of insert hints for a family's keys and its range deletions
(facebook/rocksdb#5118, fixed in 2024 by #12558): a DeleteRange in a family with
memtable_insert_with_hint_prefix_extractor breaks its skiplist, and so does replaying a log
that holds one. storage/engine.cc gives hints to every skiplist family but requests and
statistics; the one range delete the code writes is the statistics family's schema
upgrade. This fails on any other DeleteRange call in the project's sources, so a new one
is looked at (and the hints of its family taken off) before it can reach a store.

    tests/structure/range_deletes.py ROOT
"""
import pathlib
import re
import sys

DIRS = ("common", "storage", "triage", "services", "tools", "bench", "tests")
CALL = re.compile(r"\bDeleteRange\s*\(")
# (file, the text of the line): the calls known to go to a family without hints.
ALLOWED = {("storage/engine.cc", "batch.DeleteRange(statistics, begin, end)")}


def main(root):
    found = []
    for d in DIRS:
        for path in sorted((root / d).rglob("*")):
            if path.suffix not in (".cc", ".h") or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if not CALL.search(line) or line.lstrip().startswith("//"):
                    continue
                if not any(rel == f and text in line for f, text in ALLOWED):
                    found.append(f"{rel}:{number}: {line.strip()}")
    if found:
        print("range deletes outside the statistics family's upgrade (see storage/engine.cc,"
              " InsertHintFor: a hinted family must not take one):")
        print("\n".join(found))
        return 1
    print("no range delete but the statistics family's upgrade")
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
