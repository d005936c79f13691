#!/usr/bin/env bash
# Builds the repository's container image without a Docker engine and serves a generation from
# it (docs/deploy.md, "The container, built here"):
#   1. a Debian bookworm base: debootstrap --variant=minbase from the mirror in this machine's
#      apt sources, its tarball cached under WORK_DIR (reruns skip this), imported with
#      `podman import`;
#   2. the image: `buildah bud --isolation chroot --format docker`, CPU variant (that base for
#      BUILD_BASE and RUNTIME_BASE). By default deploy/Dockerfile.prebuilt over the binaries
#      this build already made (the runtime stage of deploy/Dockerfile, without compiling in the
#      image); with --full (or EGMLA_CONTAINER_FULL=1) the whole multi-stage deploy/Dockerfile;
#   3. the image's configuration: user 10001, ports 50051 and 8002, the egmla health
#      HEALTHCHECK, the egmla-server ENTRYPOINT;
#   4. `buildah run --isolation chroot` starts the ENTRYPOINT on free loopback ports (chroot
#      isolation shares the host's network); the HEALTHCHECK command (its port changed) turns
#      healthy, `egmla generate --token-ids 1,2,3 --max-tokens 4` in the image prints 4 ids, the
#      metrics port answers; SIGTERM: the server drains and exits 0;
#   5. clean-up: the working container, the image and the imported base are removed.
#
#   tests/deploy/container_test.sh --server-bin BIN --cli-bin BIN [--lib-dir BUILD/lib]
#                                  --work-dir DIR [--full]
# Exit 0 pass, 1 fail, 77 skip (not root, or debootstrap / buildah / podman missing).
set -euo pipefail

SKIP=77
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server_bin="" cli_bin="" lib_dir="" work_dir="" full=${EGMLA_CONTAINER_FULL:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --server-bin) server_bin=$2; shift 2 ;;
    --cli-bin) cli_bin=$2; shift 2 ;;
    --lib-dir) lib_dir=$2; shift 2 ;;
    --work-dir) work_dir=$2; shift 2 ;;
    --full) full=1; shift ;;
    *) echo "usage: $0 --server-bin BIN --cli-bin BIN --work-dir DIR [--full]" >&2; exit 2 ;;
  esac
done
[ -n "$work_dir" ] || { echo "$0: --work-dir is required" >&2; exit 2; }
if [ "$full" != 1 ] && { [ -z "$server_bin" ] || [ -z "$cli_bin" ]; }; then
  echo "$0: --server-bin and --cli-bin are required (unless --full)" >&2
  exit 2
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: not root (debootstrap and buildah --isolation chroot need root)"
  exit $SKIP
fi
for tool in debootstrap buildah podman python3; do
  if ! command -v "$tool" > /dev/null; then
    echo "SKIP: $tool is not installed (scripts/setup.sh installs it)"
    exit $SKIP
  fi
done

t_start=$EPOCHREALTIME
phase_start=$t_start
phase() {  # phase NAME: prints how long the phase that just ended took
  local now=$EPOCHREALTIME
  awk -v a="$now" -v b="$phase_start" -v n="$1" 'BEGIN { printf "%-34s %6.1f s\n", n, a - b }'
  phase_start=$now
}

mkdir -p "$work_dir"
work_dir=$(cd "$work_dir" && pwd)
run_id="$$-$(date +%s)"
base_image="localhost/egmla-test/debian:bookworm-minbase-$run_id"
image="localhost/egmla-test/egmla-serve:cpu-$run_id"
ctr="" server_pid="" server_process="" tmp=$(mktemp -d)

cleanup() {
  local rc=$? id
  if [ -n "$server_process" ]; then kill -KILL "$server_process" 2> /dev/null || true; fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then
    kill -KILL "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
  fi
  if [ -n "$ctr" ]; then buildah rm "$ctr" > /dev/null 2>&1 || true; fi
  buildah rmi "$image" > /dev/null 2>&1 || true
  # --full: intermediate images the build left (the build stage), those that exist now and
  # did not before the build; children before parents, hence a few passes.
  if [ -f "$tmp/images-before" ]; then
    for _ in 1 2 3 4 5; do
      for id in $(buildah images -a -q --no-trunc 2> /dev/null | sort -u |
                  comm -13 "$tmp/images-before" -); do
        buildah rmi "$id" > /dev/null 2>&1 || true
      done
    done
  fi
  podman rmi "$base_image" > /dev/null 2>&1 || true
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- 1. The base image ------------------------------------------------------------------------
# The Debian mirror and the security mirror this machine's apt uses (deb822 .sources files or
# one-line sources.list entries), for the suite bookworm.
read -r mirror security < <(python3 - << 'EOF'
import glob, re
mirror = security = None
def take(uri, suites):
    global mirror, security
    for s in suites:
        if s == "bookworm" and mirror is None:
            mirror = uri
        if s == "bookworm-security" and security is None:
            security = uri
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m and not line.startswith("#"):
                fields[m.group(1).lower()] = m.group(2).split()
        if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"])[0] != "no":
            for uri in fields.get("uris", []):
                take(uri, fields.get("suites", []))
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            take(m.group(1), [m.group(2)])
print(mirror or "-", security or "-")
EOF
)
[ "$mirror" != "-" ] || fail "no 'bookworm' Debian mirror in /etc/apt/sources.list{,.d/}"
echo "mirror: $mirror (security: $security)"

tarball="$work_dir/debian-bookworm-minbase.tar"
stamp="$work_dir/debian-bookworm-minbase.mirror"
if [ -f "$tarball" ] && [ "$(cat "$stamp" 2> /dev/null)" = "$mirror $security" ]; then
  echo "base: cached $tarball"
else
  rootfs="$work_dir/rootfs"
  rm -rf "$rootfs" "$tarball"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work_dir/debootstrap.log" 2>&1 ||
    { tail -20 "$work_dir/debootstrap.log"; fail "debootstrap"; }
  # Updates and security too, like Debian's own images; signed by the keyring minbase has.
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ "$security" != "-" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } > "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  echo "$mirror $security" > "$stamp"
  rm -rf "$rootfs"
fi
phase "debootstrap (or cached tarball)"

podman import "$tarball" "$base_image" > "$work_dir/podman-import.log" 2>&1 ||
  { cat "$work_dir/podman-import.log"; fail "podman import"; }
phase "podman import"

# ---- 2. The image ----------------------------------------------------------------------------
if [ "$full" = 1 ]; then
  echo "build: deploy/Dockerfile, both stages (compiles in the image)"
  buildah images -a -q --no-trunc | sort -u > "$tmp/images-before"
  buildah bud --isolation chroot --format docker \
    --ignorefile "$repo/deploy/Dockerfile.dockerignore" -f "$repo/deploy/Dockerfile" \
    --build-arg BUILD_BASE="$base_image" --build-arg RUNTIME_BASE="$base_image" \
    -t "$image" "$repo" > "$work_dir/buildah.log" 2>&1 ||
    { tail -40 "$work_dir/buildah.log"; fail "buildah bud deploy/Dockerfile"; }
else
  echo "build: deploy/Dockerfile.prebuilt over $server_bin and $cli_bin"
  context="$tmp/context"
  mkdir -p "$context/bin" "$context/lib" "$context/models"
  cp "$server_bin" "$cli_bin" "$context/bin/"
  if [ -n "$lib_dir" ] && compgen -G "$lib_dir/*.so" > /dev/null; then
    cp "$lib_dir"/*.so "$context/lib/"
  fi
  strip --strip-debug "$context"/bin/* "$context"/lib/* 2> /dev/null || true
  "$cli_bin" random-model --config "$repo/models/default.config.json" --seed 0 \
    --out "$context/models/default" > /dev/null
  readarray -t libs < <(compgen -G "$context/lib/*.so" || true)
  "$repo/deploy/runtime-packages.sh" "$context"/bin/* "${libs[@]}" > "$context/runtime-packages.txt"
  cp "$repo/deploy/runtime-setup.sh" "$context/"
  buildah bud --isolation chroot --format docker -f "$repo/deploy/Dockerfile.prebuilt" \
    --build-arg RUNTIME_BASE="$base_image" -t "$image" "$context" > "$work_dir/buildah.log" 2>&1 ||
    { tail -40 "$work_dir/buildah.log"; fail "buildah bud deploy/Dockerfile.prebuilt"; }
fi
phase "buildah bud"
echo "image: $image, $(buildah images --format '{{.Size}}' "$image" | head -1)"

# ---- 3. Its configuration --------------------------------------------------------------------
buildah inspect --type image "$image" |
  python3 -c 'import json, sys; json.dump(json.load(sys.stdin)["Docker"]["config"], sys.stdout)' \
  > "$tmp/config.json"
python3 - "$tmp/config.json" << 'EOF' || fail "image configuration"
import json, sys
c = json.load(open(sys.argv[1]))
problems = []
def want(what, got, expected):
    if got != expected:
        problems.append("%s: %r, want %r" % (what, got, expected))
want("User", c.get("User"), "10001:10001")
want("ExposedPorts", sorted(c.get("ExposedPorts") or {}), ["50051/tcp", "8000/tcp", "8002/tcp"])
want("Entrypoint", c.get("Entrypoint"),
     ["egmla-server", "--model", "/opt/egmla/models/default", "--host", "0.0.0.0"])
want("Healthcheck.Test", (c.get("Healthcheck") or {}).get("Test"),
     ["CMD", "egmla", "health", "--server", "localhost:50051"])
want("StopSignal", c.get("StopSignal"), "SIGTERM")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
EOF
readarray -t entrypoint < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["Entrypoint"]))' "$tmp/config.json")
readarray -t healthcheck < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["Healthcheck"]["Test"][1:]))' "$tmp/config.json")
echo "config: user 10001:10001, ports 50051 8000 8002, HEALTHCHECK ${healthcheck[*]}"

# ---- 4. Run it ------------------------------------------------------------------------------
ctr=$(buildah from "$image")
uid=$(buildah run --isolation chroot "$ctr" -- id -u)
[ "$uid" = 10001 ] || fail "the image runs as uid $uid, want 10001"
read -r port metrics_port http_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
# The ENTRYPOINT as the image has it, on this test's ports. --host 127.0.0.1 last (absl takes the
# last occurrence): chroot isolation shares the host's network, keep the test on loopback.
buildah run --isolation chroot "$ctr" -- "${entrypoint[@]}" --port "$port" \
  --metrics-port "$metrics_port" --http-port "$http_port" --host 127.0.0.1 --drain-timeout 5s \
  < /dev/null \
  > "$tmp/server.log" 2>&1 &
server_pid=$!

health=("${healthcheck[@]}")
health[${#health[@]}-1]="localhost:$port"  # the HEALTHCHECK's --server, on this port
healthy=0
for _ in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2> /dev/null; then
    cat "$tmp/server.log"
    fail "the server exited before it was healthy"
  fi
  if buildah run --isolation chroot "$ctr" -- "${health[@]}" > "$tmp/health.out" 2>&1; then
    healthy=1
    break
  fi
  sleep 0.5
done
[ "$healthy" = 1 ] || { cat "$tmp/server.log" "$tmp/health.out"; fail "never healthy"; }
phase "start until healthy"
echo "health: $(cat "$tmp/health.out")"

ids=$(buildah run --isolation chroot "$ctr" -- egmla generate --server "localhost:$port" \
  --token-ids 1,2,3 --max-tokens 4) || { cat "$tmp/server.log"; fail "egmla generate"; }
echo "generate: $ids"
[[ "$ids" =~ ^[[:space:]]*[0-9]+([[:space:]]+[0-9]+){3}[[:space:]]*$ ]] ||
  fail "egmla generate printed '$ids', want 4 token ids"
python3 - "$metrics_port" << 'EOF' || fail "metrics"
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
line = [l for l in text.splitlines() if l.startswith("egmla_generation_tokens_total ")]
assert line and float(line[0].split()[1]) == 4, line
print("metrics: " + line[0])
EOF
# The OpenAI-compatible API (issue 19) from the host, as a load balancer would reach it.
python3 - "$http_port" << 'EOF' || fail "OpenAI-compatible API"
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
assert urllib.request.urlopen(base + "/health", timeout=5).status == 200
body = json.dumps({"prompt": [1, 2, 3], "max_tokens": 2}).encode()
reply = json.load(urllib.request.urlopen(base + "/v1/completions", body, timeout=30))
assert reply["usage"]["completion_tokens"] == 2, reply
print("openai: " + json.dumps(reply["usage"]))
EOF
# The SentencePiece backend the programs dlopen from /opt/egmla/lib, where it was built.
sp_model="$repo/tests/data/tokenizers/tiny_sp.model"
if buildah run --isolation chroot "$ctr" -- test -e /opt/egmla/lib/libegmla_sentencepiece.so &&
   [ -f "$sp_model" ]; then
  buildah copy "$ctr" "$sp_model" /tmp/tiny_sp.model > /dev/null
  sp_ids=$(buildah run --isolation chroot "$ctr" -- egmla tokenize --tokenizer /tmp/tiny_sp.model \
    "hello world") || fail "egmla tokenize with a SentencePiece model in the image"
  echo "sentencepiece: egmla tokenize 'hello world' -> $sp_ids"
  [[ "$sp_ids" =~ ^\[[0-9]+(,[[:space:]]*[0-9]+)*\]$ ]] || fail "tokenize printed '$sp_ids'"
fi
phase "generate + metrics"

# SIGTERM to the server itself, as a container runtime sends it (buildah run answers a SIGTERM
# by killing its child with SIGKILL, so it is not the one to signal).
server_process=$(ps -e -o pid=,ppid=,comm= | awk -v root="$server_pid" '
  { parent[$1] = $2; name[$1] = $3 }
  END {
    for (p in name) {
      if (name[p] != "egmla-server") continue
      for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { print p; exit }
    }
  }')
[ -n "$server_process" ] || fail "no egmla-server process under buildah run ($server_pid)"
kill -TERM "$server_process"
status=0
wait "$server_pid" || status=$?
server_pid="" server_process=""
grep -q "drained" "$tmp/server.log" || { cat "$tmp/server.log"; fail "no drain in the log"; }
[ "$status" = 0 ] || { cat "$tmp/server.log"; fail "server exited $status after SIGTERM"; }
phase "SIGTERM, drain, exit 0"

buildah rm "$ctr" > /dev/null && ctr=""
buildah rmi "$image" > /dev/null
phase "clean-up"  # the intermediate images and the base: in cleanup, on exit
awk -v a="$EPOCHREALTIME" -v b="$t_start" 'BEGIN { printf "PASS: container test in %.1f s\n", a - b }'
