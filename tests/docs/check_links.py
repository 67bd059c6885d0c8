#!/usr/bin/python3
"""Checks the relative links of Markdown files: every linked file exists and every #anchor names
a heading of its target, as GitHub renders them (the handbook is read there and in the service).

    check_links.py FILE.md...

Links inside code blocks and inline code are ignored, as are http(s) and mailto links.
Exit status 1 with one line per broken link, file:line first.
"""

import os
import re
import sys

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def strip_code(line):
    return re.sub(r"`[^`]*`", "", line)


def slug(text):
    """GitHub's anchor for a heading: the rendered text in lower case, without punctuation other
    than '-' and '_', spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.replace("`", "").strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found = set()
        counts = {}
        fenced = False
        for line in open(path, encoding="utf-8"):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            match = HEADING.match(line) if not fenced else None
            if match:
                base = slug(match.group(2))
                number = counts.get(base, 0)
                counts[base] = number + 1
                found.add(base if number == 0 else f"{base}-{number}")
        cache[path] = found
    return cache[path]


def main():
    broken = []
    for source in sys.argv[1:]:
        fenced = False
        for line_number, line in enumerate(open(source, encoding="utf-8"), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                continue
            for target in LINK.findall(strip_code(line)):
                if re.match(r"^(https?|mailto):", target):
                    continue
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
                where = f"{source}:{line_number}: {target}"
                if not os.path.exists(resolved):
                    broken.append(f"{where}: no file {resolved}")
                elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                    broken.append(f"{where}: no heading '#{anchor}' in {resolved}")
    for line in broken:
        print(line)
    print(f"{len(sys.argv) - 1} files, {len(broken)} broken links")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
