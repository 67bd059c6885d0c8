#!/usr/bin/env bash
# Checks deploy/Containerfile against the checkout and the built binary, since no container
# engine runs where the tests run (docs/howto/deploy.md says so):
#   - every path its build stage copies is tracked by git, and so are the model files the
#     runtime stage copies;
#   - its build stage installs only packages that scripts/setup installs (the ones the project
#     is built and tested with);
#   - its runtime stage installs the Debian package of every shared library the binary links
#     (readelf -d NEEDED, each resolved by ldd and owned per dpkg -S), except those that
#     debian:12-slim already has (libc6, libstdc++6, libgcc-s1).
#   tests/docs/containerfile_test.sh PATH/TO/phytoflow
set -euo pipefail
phytoflow=$(realpath "$1")
cd "$(dirname "$0")/../.."

/usr/bin/python3 - "$phytoflow" <<'PY'
import re, shlex, subprocess, sys

binary = sys.argv[1]
text = open("deploy/Containerfile").read().replace("\\\n", " ")
stages = re.split(r"^FROM ", text, flags=re.M)[1:]
assert len(stages) == 2, f"expected a build and a runtime stage, found {len(stages)}"
failures = []

def apt_packages(stage):
    packages = []
    for line in stage.splitlines():
        if line.startswith("RUN ") and "apt-get install" in line:
            words = shlex.split(line.split("apt-get install", 1)[1].split("&&", 1)[0])
            packages += [w for w in words if not w.startswith("-")]
    return packages

# Copied paths: the build stage's COPY sources and the runtime stage's --from=build /src/ files.
tracked = set(subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split())
tracked_dirs = {"/".join(p.split("/")[:i]) for p in tracked for i in range(1, p.count("/") + 1)}
for stage in stages:
    for line in stage.splitlines():
        if not line.startswith("COPY "):
            continue
        words = shlex.split(line)[1:]
        from_build = any(w.startswith("--from=") for w in words)
        sources = [w for w in words if not w.startswith("--")][:-1]
        for source in sources:
            path = source[len("/src/"):] if from_build else source.rstrip("/")
            if from_build and not source.startswith("/src/"):
                continue  # a build output, not a checkout file
            if from_build and path.startswith("build/"):
                continue
            if path not in tracked and path not in tracked_dirs:
                failures.append(f"COPY {source}: not a tracked file or folder of the checkout")

# The build stage's packages are the project's own build dependencies.
setup = open("scripts/setup").read()
setup_list = re.search(r"APT_PACKAGES=\((.*?)\n\)", setup, re.S).group(1)
setup_packages = set(re.sub(r"#[^\n]*", "", setup_list).split())
build_packages = apt_packages(stages[0])
for package in build_packages:
    if package not in setup_packages:
        failures.append(f"build stage installs {package}, which scripts/setup does not")

# The runtime stage's packages cover every library the binary links.
runtime_packages = set(apt_packages(stages[1]))
in_slim_image = {"libc6", "libstdc++6", "libgcc-s1"}
readelf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", readelf)
ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
checked = 0
for library in needed:
    if re.match(r"lib(asan|ubsan|lsan|tsan)\.so", library):
        continue  # sanitizer builds link their runtimes; the image builds the release preset
    path = resolved.get(library)
    if path is None:
        failures.append(f"{library}: ldd does not resolve it")
        continue
    owner = None
    for candidate in (path, path.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            owner = found.stdout.split(":", 1)[0].split(",")[0].strip()
            break
    if owner is None:
        failures.append(f"{library} ({path}): no Debian package owns it")
    elif owner not in runtime_packages and owner not in in_slim_image:
        failures.append(f"{library} comes from {owner}, which the runtime stage does not install")
    checked += 1

for failure in failures:
    print("FAIL:", failure)
print(f"{checked} linked libraries, {len(build_packages)} build and {len(runtime_packages)} runtime "
      f"packages checked: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
PY
