#!/usr/bin/python3
"""Runs the commands of the handbook's tutorials and checks their output.

    run_tutorials.py --phytoflow BIN --workdir DIR TUTORIAL.md...

A tutorial marks each block it wants run with an HTML comment on the line just before a
```console fence (the comment is invisible when the Markdown is rendered):

    <!-- test -->
    ```console
    $ phytoflow samples --store build/tutorial/phytoflow.db
    SAMPLE  PARTICLES ...
    ```

Inside the block a line starting with "$ " is a command; a command line ending in "\\" goes on
with the next line, and lines starting with "> " right after a command continue it (as bash
shows a loop). Every other line is output that the command printed. Blocks without the comment
are not run (use ```sh for commands that are not meant to run here, such as installing).

Every command of a tutorial runs in order, in one bash shell started in DIR (so variables and
`cd` carry over), with `phytoflow` defined as a function that calls BIN. Each must exit with 0.
The output lines shown must appear in what the command printed, in the same order, with runs
of spaces compared as one space; the printed output may have more lines. A line that is only
"…" marks output left out. Options in the comment, separated by spaces:

    exit=N              the block's last command must exit with N instead of 0
    numbers-vary        numbers (and 12-digit hex model hashes) are not compared: for outputs
                        that depend on the CPU, threads or time, such as training
    vary="TEXT"         output lines containing TEXT are not compared (repeatable)
    output-varies       no output line is compared, only the exit status

Source locations that debug builds append to error messages (" [src/...cpp:123]") are removed
before comparing, so the release build's messages can be shown.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!--\s*test(?::\s*(.*?))?\s*-->\s*$")
DEBUG_LOCATION = re.compile(r" \[[^\]]*\.(?:cpp|h):\d+\]")
HEX_HASH = re.compile(r"\b[0-9a-f]{12}\b")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
ELISION = {"…", "..."}


class Block:
    def __init__(self, source, line, options):
        self.source = source
        self.line = line  # 1-based line of the fence
        self.commands = []  # list of [command text, [expected output lines]]
        self.expected_exit = 0
        self.numbers_vary = False
        self.output_varies = False
        self.vary = []
        for option in shlex.split(options or ""):
            if option.startswith("exit="):
                self.expected_exit = int(option[len("exit="):])
            elif option == "numbers-vary":
                self.numbers_vary = True
            elif option == "output-varies":
                self.output_varies = True
            elif option.startswith("vary="):
                self.vary.append(option[len("vary="):])
            else:
                raise SystemExit(f"{source}:{line - 1}: unknown test option '{option}'")


def parse_blocks(path):
    """The runnable blocks of one Markdown file, in order."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    idx = 0
    while idx < len(lines):
        marker = MARKER.match(lines[idx])
        if not marker:
            idx += 1
            continue
        if idx + 1 >= len(lines) or lines[idx + 1].strip() != "```console":
            raise SystemExit(f"{path}:{idx + 1}: a test marker must come just before ```console")
        block = Block(path, idx + 2, marker.group(1))
        idx += 2
        continuing = False
        while idx < len(lines) and lines[idx].strip() != "```":
            text = lines[idx]
            if continuing or (block.commands and text.startswith("> ") and
                              not block.commands[-1][1]):
                body = text[2:] if text.startswith("> ") else text
                block.commands[-1][0] += "\n" + body
                continuing = text.endswith("\\")
            elif text.startswith("$ "):
                block.commands.append([text[2:], []])
                continuing = text.endswith("\\")
            elif block.commands:
                block.commands[-1][1].append(text)
            elif text.strip():
                raise SystemExit(f"{path}:{idx + 1}: output before the first command")
            idx += 1
        if idx >= len(lines):
            raise SystemExit(f"{path}:{block.line}: unclosed code block")
        if not block.commands:
            raise SystemExit(f"{path}:{block.line}: a test block without a '$ ' command")
        blocks.append(block)
        idx += 1
    return blocks


def normalise(line, numbers_vary):
    line = DEBUG_LOCATION.sub("", line)
    if numbers_vary:
        line = HEX_HASH.sub("<hash>", line)
        line = NUMBER.sub("<n>", line)
    return " ".join(line.split())


def missing_lines(expected, stdout, stderr, block):
    """Expected lines not found, in order, in stdout or else in stderr."""
    if block.output_varies:
        return []
    streams = [[normalise(l, block.numbers_vary) for l in s.split("\n")] for s in (stdout, stderr)]
    positions = [0, 0]
    missing = []
    for line in expected:
        if line.strip() in ELISION or not line.strip():
            continue
        if any(text in line for text in block.vary):
            continue
        wanted = normalise(line, block.numbers_vary)
        for stream_idx, stream in enumerate(streams):
            try:
                found = stream.index(wanted, positions[stream_idx])
            except ValueError:
                continue
            positions[stream_idx] = found + 1
            break
        else:
            missing.append(line)
    return missing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--phytoflow", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--show", action="store_true",
                        help="print what each command printed (to update a tutorial's output)")
    parser.add_argument("tutorials", nargs="+")
    args = parser.parse_args()

    failures = 0
    checked = 0
    for tutorial in args.tutorials:
        blocks = parse_blocks(tutorial)
        commands = [(block, number == len(block.commands) - 1, command, expected)
                    for block in blocks
                    for number, (command, expected) in enumerate(block.commands)]
        print(f"{tutorial}: {len(blocks)} blocks, {len(commands)} commands", flush=True)
        with tempfile.TemporaryDirectory() as outputs:
            script = ['phytoflow() { "$PHYTOFLOW_BIN" "$@"; }', f"cd {shlex.quote(args.workdir)}"]
            for number, (_, _, command, _) in enumerate(commands):
                base = shlex.quote(os.path.join(outputs, str(number)))
                # Progress on the runner's stderr; the command's own output goes to files.
                script.append(f"echo {shlex.quote('$ ' + command.splitlines()[0])} >&2")
                script.append("{\n" + command + f"\n}} </dev/null >{base}.out 2>{base}.err")
                script.append(f"echo $? >{base}.rc")
            # The tutorials are written for Debian 12 with scripts/setup: its python3 comes first.
            # One locale, so that `ls` and `sort` print in the order the tutorials show.
            environment = dict(os.environ, PHYTOFLOW_BIN=os.path.abspath(args.phytoflow),
                               PATH="/usr/bin:" + os.environ.get("PATH", ""), LC_ALL="C.UTF-8")
            subprocess.run(["bash", "-c", "\n".join(script) + "\n"], env=environment)
            for number, (block, last, command, expected) in enumerate(commands):
                base = os.path.join(outputs, str(number))

                def read(suffix):
                    try:
                        return open(base + suffix, encoding="utf-8", errors="replace").read()
                    except FileNotFoundError:  # the shell ended before this command
                        return ""

                code = int(read(".rc").strip() or -1)
                stdout, stderr = read(".out"), read(".err")
                if args.show:
                    print(f"$ {command}\n{DEBUG_LOCATION.sub('', stdout + stderr)}[exit {code}]")
                wanted_code = block.expected_exit if last else 0
                where = f"{block.source}:{block.line}: $ {command.splitlines()[0]}"
                checked += 1
                if code != wanted_code:
                    failures += 1
                    print(f"FAIL {where}\n  exit {code}, expected {wanted_code}\n"
                          f"  stderr: {stderr.strip()[-600:]}")
                    continue
                missing = missing_lines(expected, stdout, stderr, block)
                if missing:
                    failures += 1
                    shown = "\n    ".join(missing[:8])
                    printed = "\n    ".join((stdout + stderr).strip().split("\n")[:40])
                    print(f"FAIL {where}\n  output lines not printed (of {len(expected)}):\n"
                          f"    {shown}\n  it printed:\n    {printed}")
    print(f"{checked - failures} of {checked} commands passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
