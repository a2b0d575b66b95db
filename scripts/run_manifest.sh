#!/usr/bin/env bash
# Interactive helper: imports a TCIA manifest into an XNAT project with the command image, using
# docker (or podman). It lists the manifests it can find, asks for the XNAT host, project, user,
# password (not echoed), manifest and output folder, and runs the image.
#
# Credentials reach the container only through an --env-file (mode 600, deleted on exit), never
# the command line, so `ps` and `docker inspect` of the command do not show them.
# Written for bash 3.2 (macOS): no associative arrays, mapfile or ${x,,}.
#
# Environment: XTD_IMAGE (image, default xnat-tcia-download:<package version>), CONTAINER_ENGINE
# (docker or podman), and XNAT_HOST / XNAT_USER / XNAT_PASS as defaults for the prompts.
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

# ---- engine and image ----------------------------------------------------------------------------
ENGINE=${CONTAINER_ENGINE:-}
if [[ -z "$ENGINE" ]]; then
  if command -v docker >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then
    ENGINE=podman
  else
    die "neither docker nor podman is installed"
  fi
fi
command -v "$ENGINE" >/dev/null 2>&1 || die "$ENGINE is not installed"

VERSION=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$ROOT/package.json" 2>/dev/null | head -n 1)
IMAGE=${XTD_IMAGE:-xnat-tcia-download:${VERSION:-unknown}}
if ! "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
  die "image $IMAGE not found; build it with: $ENGINE build -t $IMAGE $ROOT   (or set XTD_IMAGE)"
fi

# ---- manifests: local resources/TCIA folders and the ones inside the image -----------------------
MANIFESTS=()
SEEN=$'\n'
add_manifest() {
  case "$SEEN" in *$'\n'"$1"$'\n'*) return ;; esac
  SEEN="$SEEN$1"$'\n'
  MANIFESTS+=("$1")
}
for dir in "$ROOT/resources/TCIA" "$PWD/resources/TCIA"; do
  [[ -d "$dir" ]] || continue
  dir=$(cd "$dir" && pwd)
  for file in "$dir"/*; do
    if [[ -f "$file" ]] && is_manifest_name "$file"; then add_manifest "$file"; fi
  done
done
# The image lists its own sample manifests (no network needed for that).
while IFS= read -r line; do
  case "$line" in /*) if is_manifest_name "$line"; then add_manifest "image:$line"; fi ;; esac
done < <("$ENGINE" run --rm --network none "$IMAGE" manifests 2>/dev/null || true)

echo "Manifests found (local paths, and image:<path> inside $IMAGE):"
i=1
for manifest in ${MANIFESTS[@]+"${MANIFESTS[@]}"}; do
  printf '  %3d) %s\n' "$i" "$manifest"
  i=$((i + 1))
done
if ((${#MANIFESTS[@]} == 0)); then echo "  (none)"; fi
echo

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

ask CHOICE "Manifest: a number from the list, or a path to a .tcia/.csv file"
if [[ "$CHOICE" =~ ^[0-9]+$ ]] && ((CHOICE >= 1 && CHOICE <= ${#MANIFESTS[@]})); then
  MANIFEST=${MANIFESTS[$((CHOICE - 1))]}
else
  MANIFEST=$CHOICE
fi
MOUNTS=()
case "$MANIFEST" in
  image:*)
    MANIFEST_ARG=${MANIFEST#image:}
    ;;
  *)
    [[ -f "$MANIFEST" ]] || die "no such file: $MANIFEST"
    is_manifest_name "$MANIFEST" || die "a manifest must be a .tcia or .csv file: $MANIFEST"
    MANIFEST_DIR=$(cd "$(dirname "$MANIFEST")" && pwd)
    MANIFEST_ARG="/input/$(basename "$MANIFEST")"
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
case "$HOST" in
  *://localhost* | *://127.* | localhost* | 127.*) network_default=y ;;
  *) network_default=n ;;
esac
if yes_no "Use the host's network (needed for an XNAT on this machine, e.g. http://localhost:8080)?" "$network_default"; then
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
unset XPASS
if [[ -n "${TCIA_URL:-}" ]]; then printf 'TCIA_URL=%s\n' "$TCIA_URL" >>"$ENV_FILE"; fi

echo
echo "Running $IMAGE on $MANIFEST into project $PROJECT ..."
status=0
# --user: the report and log in the output folder belong to you, not to the image's UID 10001.
"$ENGINE" run --rm --user "$(id -u):$(id -g)" ${RUN_OPTS[@]+"${RUN_OPTS[@]}"} --env-file "$ENV_FILE" \
  "${MOUNTS[@]}" "$IMAGE" import "$MANIFEST_ARG" --project "$PROJECT" --output-dir /output \
  --concurrency "$CONCURRENCY" ${DRY[@]+"${DRY[@]}"} || status=$?

echo
case "$status" in
  0) echo "Finished: every series is in XNAT (exit 0)." ;;
  1) echo "Finished with failures: some series were not imported (exit 1); see the report." ;;
  2) echo "Nothing was imported: bad usage or an unusable manifest (exit 2); see the messages above." ;;
  *) echo "Stopped or failed (exit $status)." ;;
esac
echo "Local results in $OUTPUT: report.json, report.csv (one row per series) and run.log.jsonl (the JSON log)."
if ((${#DRY[@]} > 0)); then
  echo "This was a dry run: nothing was sent to XNAT."
else
  echo "In XNAT, project $PROJECT (if it exists) holds the same report and log in the resource TCIA_IMPORT_LOGS,"
  echo "in a folder named after the run id, plus the original manifest (MANIFEST_ORIGINAL) and the"
  echo "series-to-session map (MANIFEST_MODIFIED)."
fi
exit "$status"
