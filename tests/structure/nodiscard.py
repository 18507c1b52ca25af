#!/usr/bin/python3
"""Every function of ours that returns absl::Status or absl::StatusOr is [[nodiscard]].

Debian's Abseil does not mark absl::Status must-use, so without the attribute an ignored
error compiles silently. This finds the first declaration of each such function (in a
header, or in a .cc file for functions of its own) and reports those without the
attribute. With --fix it adds it. Out-of-line definitions (Class::Name, or a function
already declared in a header) are not first declarations and need none.

    tests/structure/nodiscard.py [--fix] ROOT
"""
import pathlib
import re
import sys

DIRS = ("storage", "triage", "services", "tools", "bench", "tests/support")
# A return type of absl::Status or absl::StatusOr<...> starting a declaration, then an
# unqualified name and "(".
DECL = re.compile(
    r"^(?P<indent>\s*)(?P<prefix>(?:(?:static|virtual|inline|friend|constexpr)\s+)*)"
    r"(?P<type>absl::Status(?:Or<.*>)?)\s*\n?\s*(?P<name>[A-Za-z_]\w*)\s*\(",
    re.M)


ANY_DECL = re.compile(r"absl::Status(?:Or<[^;{]*?>)?\s+([A-Za-z_]\w*)\s*\(")


def declared_in_headers(root):
    names = set()
    for d in DIRS:
        for h in (root / d).rglob("*.h"):
            names.update(ANY_DECL.findall(h.read_text()))
    return names


def check(root, fix):
    in_headers = declared_in_headers(root)
    missing = []
    for d in DIRS:
        for path in sorted((root / d).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            text = path.read_text()
            out, last = [], 0
            for m in DECL.finditer(text):
                before = text[max(0, m.start() - 40):m.start()]
                if "nodiscard" in before or "nodiscard" in m.group("prefix"):
                    continue
                if "friend" in m.group("prefix"):
                    continue  # attributes belong on the function's own declaration
                line_start = text.rfind("\n", 0, m.start()) + 1
                line = text[line_start:text.find("\n", m.start())]
                # Variables ("absl::Status s = ...") and returns are not declarations.
                if "=" in line.split("(")[0] or line.lstrip().startswith("return"):
                    continue
                if path.suffix == ".cc" and m.group("name") in in_headers:
                    continue  # defined here, first declared in a header
                lineno = text.count("\n", 0, m.start()) + 1
                missing.append(f"{path.relative_to(root)}:{lineno}: {m.group('name')}")
                if fix:
                    start = m.start() + len(m.group("indent"))
                    out.append(text[last:start])
                    out.append("[[nodiscard]] ")
                    last = start
            if fix and out:
                out.append(text[last:])
                path.write_text("".join(out))
    return missing


def main():
    fix = "--fix" in sys.argv
    root = pathlib.Path([a for a in sys.argv[1:] if a != "--fix"][0])
    missing = check(root, fix)
    if missing and not fix:
        print("functions returning absl::Status/StatusOr without [[nodiscard]]:")
        print("\n".join(missing))
        return 1
    if fix:
        print(f"marked {len(missing)} declarations")
    else:
        print("every absl::Status/StatusOr function is [[nodiscard]]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
