#!/usr/bin/python3
"""No function of the product code is longer than LIMIT lines of body.

Long functions are where the next feature gets wedged in; split them into named steps.
Checks the function definitions that start at column 0 in common/, storage/, triage/,
services/, tools/ and bench/ (their bodies end at the next "}" at column 0, as
clang-format lays them out). Tests are exempt: their case tables are long on purpose.

    tests/structure/function_size.py ROOT [LIMIT]
"""
import pathlib
import re
import sys

DIRECTORIES = ("common", "storage", "triage", "services", "tools", "bench")
NOT_A_FUNCTION = re.compile(r"(namespace|class|struct|enum|union|extern|template)\b")


def long_functions(path, limit):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        starts = (line and not line[0].isspace() and line.rstrip().endswith("{")
                  and "(" in line + "".join(lines[max(0, i - 3):i])
                  and not NOT_A_FUNCTION.match(line) and "=" not in line.split("(")[0])
        if starts:
            end = i + 1
            while end < len(lines) and not lines[end].startswith("}"):
                end += 1
            if end - i - 1 > limit:
                # The signature may span the lines above the brace.
                first = i
                while first > 0 and lines[first - 1].strip() and not lines[first - 1].startswith(
                        ("}", "//", "#")):
                    first -= 1
                yield first + 1, end - i - 1, lines[first].strip()
            i = end
        i += 1


def main():
    root = pathlib.Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    problems = []
    checked = 0
    for directory in DIRECTORIES:
        for path in sorted((root / directory).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            checked += 1
            for line, length, signature in long_functions(path, limit):
                problems.append(f"{path.relative_to(root)}:{line}: {length} lines: {signature}")
    if checked == 0:
        print("no sources found under", root)
        return 1
    if problems:
        print(f"functions longer than {limit} lines (split them into named steps):")
        print("\n".join(problems))
        return 1
    print(f"no function over {limit} lines in {checked} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
