#!/usr/bin/env bash
# Interactive helper: imports a TCIA manifest into an XNAT project with the command image, using
# docker or podman, or, with neither, the command line of this checkout (dist/cli.js, built
# with npm ci && npm run build when missing). It asks for the XNAT host, project, user, password
# (not echoed), then lists the sample manifests and asks for one and the output folder, and runs.
#
# Credentials reach the container only through an --env-file (mode 600, deleted on exit), and the
# local command line only through its environment, never an argv, so `ps` and `docker inspect` do
# not show them.
# Written for bash 3.2 (macOS): no associative arrays, mapfile or ${x,,}.
#
# Environment: XTD_IMAGE (image, default xnat-tcia-download:<package version>), CONTAINER_ENGINE
# (docker, podman or local), and XNAT_HOST / XNAT_USER / XNAT_PASS as defaults for the prompts.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
  echo "run_manifest: $*" >&2
  exit 1
}

# ask VAR "Prompt" [default]: reads a line into VAR, falling back to the default.
ask() {
  local answer prompt=$2 default=${3-}
  if [[ -n "$default" ]]; then prompt="$prompt [$default]"; fi
  read -r -p "$prompt: " answer || true
  if [[ -z "$answer" ]]; then answer=$default; fi
  printf -v "$1" '%s' "$answer"
}

# yes "Question" default(y|n): succeeds on yes.
yes_no() {
  local answer
  read -r -p "$1 [$(if [[ $2 == y ]]; then echo Y/n; else echo y/N; fi)]: " answer || true
  if [[ -z "$answer" ]]; then answer=$2; fi
  case "$answer" in [Yy]*) return 0 ;; *) return 1 ;; esac
}

is_manifest_name() {
  case "$1" in *.[Tt][Cc][Ii][Aa] | *.[Cc][Ss][Vv]) return 0 ;; *) return 1 ;; esac
}

# ---- engine: docker, podman, or the local CLI ------------------------------------------------------
# CONTAINER_ENGINE=local (or no docker/podman at all) runs dist/cli.js from this checkout.
ENGINE=${CONTAINER_ENGINE:-}
if [[ -z "$ENGINE" ]]; then
  if command -v docker >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then
    ENGINE=podman
  else
    ENGINE=local
  fi
fi
CLI="$ROOT/dist/cli.js"
VERSION=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$ROOT/package.json" 2>/dev/null | head -n 1)
IMAGE=${XTD_IMAGE:-xnat-tcia-download:${VERSION:-unknown}}
if [[ "$ENGINE" == local ]]; then
  command -v node >/dev/null 2>&1 || die "neither docker nor podman is installed, and node (20.11 or later) is not either: install one of them"
  if [[ ! -f "$CLI" ]]; then
    echo "No docker or podman: using the command line in $ROOT, which is not built yet; building it (npm ci && npm run build) ..."
    command -v npm >/dev/null 2>&1 || die "npm is needed to build $CLI"
    (cd "$ROOT" && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null) || die "the build failed; run 'npm ci && npm run build' in $ROOT to see why"
  fi
  echo "No docker or podman: running the command line $CLI directly."
else
  command -v "$ENGINE" >/dev/null 2>&1 || die "$ENGINE is not installed"
  # A docker client without a reachable daemon answers every command with an error, the image check included.
  if [[ "$ENGINE" == docker ]] && ! daemon_error=$(docker info 2>&1 >/dev/null); then
    die "docker is installed but its daemon does not answer ($(printf '%s' "$daemon_error" | head -n 1)); start Docker, or run with CONTAINER_ENGINE=podman or CONTAINER_ENGINE=local (the command line in $ROOT)"
  fi
  if ! "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
    die "image $IMAGE not found; build it with: $ENGINE build -t $IMAGE $ROOT   (or set XTD_IMAGE)"
  fi
fi

# ---- manifests: the samples in resources/TCIA, and the image's own when it has others -----------
MANIFESTS=()
SEEN=$'\n'
add_manifest() {
  local name
  name=$(basename "$1")
  # Each sample once: the image carries copies of the same files; the local one wins.
  case "$SEEN" in *$'\n'"$name"$'\n'*) return ;; esac
  SEEN="$SEEN$name"$'\n'
  MANIFESTS+=("$1")
}
for dir in "$ROOT/resources/TCIA" "$PWD/resources/TCIA"; do
  [[ -d "$dir" ]] || continue
  dir=$(cd "$dir" && pwd)
  for file in "$dir"/*; do
    if [[ -f "$file" ]] && is_manifest_name "$file"; then add_manifest "$file"; fi
  done
done
if [[ "$ENGINE" != local ]]; then
  # The image lists its own sample manifests (no network needed for that).
  while IFS= read -r line; do
    case "$line" in /*) if is_manifest_name "$line"; then add_manifest "image:$line"; fi ;; esac
  done < <("$ENGINE" run --rm --network none "$IMAGE" manifests 2>/dev/null || true)
fi

# Numbered names in as many columns as the terminal holds; full paths are in the header.
list_manifests() {
  local width=0 i=0 cell cols name
  local -a cells=()
  for name in ${MANIFESTS[@]+"${MANIFESTS[@]}"}; do
    i=$((i + 1))
    case "$name" in image:*) cell="$i) image:$(basename "$name")" ;; *) cell="$i) $(basename "$name")" ;; esac
    cells+=("$cell")
    if ((${#cell} > width)); then width=${#cell}; fi
  done
  if ((i == 0)); then
    echo "  (no sample manifests found; give a path)"
    return
  fi
  cols=$(((${COLUMNS:-$(tput cols 2>/dev/null || echo 80)} - 2) / (width + 2)))
  if ((cols < 1)); then cols=1; fi
  i=0
  for cell in "${cells[@]}"; do
    printf '  %-*s' "$width" "$cell"
    i=$((i + 1))
    if ((i % cols == 0)); then echo; fi
  done
  if ((i % cols != 0)); then echo; fi
}

# ---- questions -------------------------------------------------------------------------------------
ask HOST "XNAT host (e.g. https://xnat.example.org)" "${XNAT_HOST:-}"
[[ -n "$HOST" ]] || die "an XNAT host is required"
ask PROJECT "Target project ID (created if it does not exist)"
[[ "$PROJECT" =~ ^[A-Za-z0-9_-]+$ ]] || die "project IDs use only letters, digits, _ and -"
ask XUSER "XNAT user (or alias token)" "${XNAT_USER:-}"
[[ -n "$XUSER" ]] || die "an XNAT user is required"
if [[ -n "${XNAT_PASS:-}" ]] && yes_no "Use the password in \$XNAT_PASS?" y; then
  XPASS=$XNAT_PASS
else
  read -r -s -p "XNAT password (not shown): " XPASS || true
  echo
fi
[[ -n "$XPASS" ]] || die "a password is required"

echo "Sample manifests (in $ROOT/resources/TCIA; image: = inside $IMAGE):"
list_manifests
ask CHOICE "Manifest: a number from the list, or a path to a .tcia/.csv file"
if [[ "$CHOICE" =~ ^[0-9]+$ ]] && ((CHOICE >= 1 && CHOICE <= ${#MANIFESTS[@]})); then
  MANIFEST=${MANIFESTS[$((CHOICE - 1))]}
else
  MANIFEST=$CHOICE
fi
MOUNTS=()
case "$MANIFEST" in
  image:*)
    [[ "$ENGINE" != local ]] || die "$MANIFEST is inside the image; without docker or podman give a local file"
    MANIFEST_ARG=${MANIFEST#image:}
    ;;
  *)
    [[ -f "$MANIFEST" ]] || die "no such file: $MANIFEST"
    is_manifest_name "$MANIFEST" || die "a manifest must be a .tcia or .csv file: $MANIFEST"
    MANIFEST_DIR=$(cd "$(dirname "$MANIFEST")" && pwd)
    MANIFEST_ARG="/input/$(basename "$MANIFEST")"
    LOCAL_MANIFEST="$MANIFEST_DIR/$(basename "$MANIFEST")"
    MOUNTS+=(-v "$MANIFEST_DIR:/input:ro")
    ;;
esac

ask OUTPUT "Output folder for the report and log" "$PWD/xnat-tcia-download-output"
mkdir -p "$OUTPUT" || die "cannot create $OUTPUT"
OUTPUT=$(cd "$OUTPUT" && pwd)
MOUNTS+=(-v "$OUTPUT:/output")

ask CONCURRENCY "Series to transfer at once" "4"
[[ "$CONCURRENCY" =~ ^[0-9]+$ ]] || die "concurrency must be a whole number"

RUN_OPTS=()
if [[ "$ENGINE" == local ]]; then
  network_default=skip
else
  case "$HOST" in
    *://localhost* | *://127.* | localhost* | 127.*) network_default=y ;;
    *) network_default=n ;;
  esac
fi
if [[ "$network_default" != skip ]] && yes_no "Use the host's network (needed for an XNAT on this machine, e.g. http://localhost:8080)?" "$network_default"; then
  RUN_OPTS+=(--network host)
fi
DRY=()
if yes_no "Dry run (plan only: nothing is sent to XNAT)?" n; then DRY=(--dry-run); fi

# ---- credentials through a private env file --------------------------------------------------------
ENV_FILE=$(umask 077 && mktemp "${TMPDIR:-/tmp}/xtd-env.XXXXXX")
trap 'rm -f "$ENV_FILE"' EXIT
trap 'rm -f "$ENV_FILE"; exit 130' INT
trap 'rm -f "$ENV_FILE"; exit 143' TERM
chmod 600 "$ENV_FILE"
printf 'XNAT_HOST=%s\nXNAT_USER=%s\nXNAT_PASS=%s\n' "$HOST" "$XUSER" "$XPASS" >"$ENV_FILE"
# The container reads it from the file; only the local command line still needs it, for its own environment.
if [[ "$ENGINE" != local ]]; then unset XPASS; fi
if [[ -n "${TCIA_URL:-}" ]]; then printf 'TCIA_URL=%s\n' "$TCIA_URL" >>"$ENV_FILE"; fi
# The source and an IDC mirror (README "Sources") travel the same way.
for name in XTD_SOURCE IDC_INDEX IDC_ENDPOINT; do
  if [[ -n "${!name:-}" ]]; then printf '%s=%s\n' "$name" "${!name}" >>"$ENV_FILE"; fi
done

echo
status=0
if [[ "$ENGINE" == local ]]; then
  echo "Running $CLI on $MANIFEST into project $PROJECT ..."
  # The credentials go through the environment of this one command, never its argv.
  XNAT_HOST=$HOST XNAT_USER=$XUSER XNAT_PASS=$XPASS "$CLI" import "$LOCAL_MANIFEST" --project "$PROJECT" \
    --output-dir "$OUTPUT" --concurrency "$CONCURRENCY" ${DRY[@]+"${DRY[@]}"} || status=$?
  unset XPASS
else
  echo "Running $IMAGE on $MANIFEST into project $PROJECT ..."
  # --user: the report and log in the output folder belong to you, not to the image's UID 10001.
  "$ENGINE" run --rm --user "$(id -u):$(id -g)" ${RUN_OPTS[@]+"${RUN_OPTS[@]}"} --env-file "$ENV_FILE" \
    "${MOUNTS[@]}" "$IMAGE" import "$MANIFEST_ARG" --project "$PROJECT" --output-dir /output \
    --concurrency "$CONCURRENCY" ${DRY[@]+"${DRY[@]}"} || status=$?
fi

# Details first; the last line says what happened.
echo
RESULTS="$OUTPUT/latest"
if ((status != 2)); then
  echo "Local results in $OUTPUT, one folder per run; $RESULTS is this one: report.csv (one row per series), report.json, run.log.jsonl."
fi
if ((${#DRY[@]} > 0)); then
  case "$status" in
    0 | 1) echo "Dry run: nothing was sent to XNAT. The plan, one row per series, is $RESULTS/plan.csv."
       if ((status == 0)); then echo "Dry run finished: every series can be imported (exit 0)."; else echo "Dry run finished: some series are unknown at TCIA (exit 1); see the plan."; fi ;;
    2) echo "Dry run stopped: bad usage or unusable input (exit 2); see the messages above." ;;
    *) echo "Dry run stopped (exit $status)." ;;
  esac
  exit "$status"
fi
if ((status == 0 || status == 1 || status == 130 || status == 143)); then
  echo "In XNAT, project $PROJECT holds the same report and log in the resource TCIA_IMPORT_LOGS/<run id>/ (for a run that"
  echo "changed something in XNAT), plus the original manifest (MANIFEST_ORIGINAL) and the series-to-session map (MANIFEST_MODIFIED)."
fi
case "$status" in
  0) echo "Finished: every series is in XNAT (exit 0)." ;;
  1) echo "Finished with failures: some series were not imported (exit 1); see $RESULTS/report.csv, and run again to retry them." ;;
  2) echo "Nothing was imported: bad usage or unusable input (exit 2); see the messages above." ;;
  130 | 143) echo "Stopped (exit $status): run the same manifest again to continue where it stopped." ;;
  *) echo "Failed (exit $status): see the messages above." ;;
esac
exit "$status"
