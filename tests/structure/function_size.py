#!/usr/bin/python3
"""No function of the product code is longer than LIMIT lines of body.

Long functions are where the next feature gets wedged in; split them into named steps.
Checks the function definitions whose signature starts at column 0 (it may wrap onto
indented lines) in common/, storage/, triage/, services/, tools/ and bench/; their bodies
end at the next "}" at column 0, as clang-format lays them out. Tests are exempt: their case tables are long on purpose.

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
        if (not line or line[0].isspace() or line.startswith(("//", "#", "}"))
                or NOT_A_FUNCTION.match(line)):
            i += 1
            continue
        # A signature begins at column 0 and may wrap; its body opens with the first line
        # that ends in "{" before any ";".
        brace = None
        for j in range(i, min(i + 8, len(lines))):
            if ";" in lines[j]:
                break
            if lines[j].rstrip().endswith("{"):
                brace = j
                break
        signature = " ".join(l.strip() for l in lines[i:(brace or i) + 1])
        if brace is None or "(" not in signature or "=" in signature.split("(")[0]:
            i += 1
            continue
        end = brace + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        if end - brace - 1 > limit:
            yield i + 1, end - brace - 1, lines[i].strip()
        i = end + 1


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
