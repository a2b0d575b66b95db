#!/usr/bin/env bash
# Registers command.json with an XNAT's Container Service, enables its wrapper site-wide and for a
# project, and prints how to launch it. For sites that cannot read image labels (Kubernetes
# backends) this is the way in; elsewhere pulling the image through the Container Service works too.
#
# Usage: scripts/register-command.sh [--host URL] [--project ID] [--command FILE]
# Credentials: XNAT_USER / XNAT_PASS from the environment, else prompted (the password is not shown).
# They reach curl through a private config file (-K, mode 600, deleted on exit), never its argv.
# The user needs the Container Manager role to add commands (CS 3.7+), and project owner rights
# to enable it on the project. Needs curl and node (to read JSON).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=${XNAT_HOST:-}
PROJECT=""
COMMAND_FILE="$ROOT/command.json"

die() {
  echo "register-command: $*" >&2
  exit 1
}

while (($# > 0)); do
  case "$1" in
    --host) HOST=${2:?--host needs a URL}; shift 2 ;;
    --project) PROJECT=${2:?--project needs an ID}; shift 2 ;;
    --command) COMMAND_FILE=${2:?--command needs a file}; shift 2 ;;
    -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v node >/dev/null 2>&1 || die "node is required to read the JSON answers"
[[ -f "$COMMAND_FILE" ]] || die "no such file: $COMMAND_FILE"

if [[ -z "$HOST" ]]; then read -r -p "XNAT host (e.g. https://xnat.example.org): " HOST || true; fi
[[ -n "$HOST" ]] || die "an XNAT host is required"
HOST=${HOST%/}
if [[ -z "$PROJECT" ]]; then read -r -p "Project to enable the command on (empty: site only): " PROJECT || true; fi
XUSER=${XNAT_USER:-}
if [[ -z "$XUSER" ]]; then read -r -p "XNAT user: " XUSER || true; fi
XPASS=${XNAT_PASS:-}
if [[ -z "$XPASS" ]]; then
  read -r -s -p "XNAT password (not shown): " XPASS || true
  echo
fi
[[ -n "$XUSER" && -n "$XPASS" ]] || die "credentials are required"

CURL_CONFIG=$(umask 077 && mktemp "${TMPDIR:-/tmp}/xtd-curl.XXXXXX")
trap 'rm -f "$CURL_CONFIG"' EXIT
# In a curl config file a double-quoted value takes \\ and \" escapes.
quote_for_curl() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}
printf 'user = %s\n' "$(quote_for_curl "$XUSER:$XPASS")" >"$CURL_CONFIG"
unset XPASS

# json FILE EXPR [ARG]: prints EXPR evaluated with `d` bound to the parsed JSON in FILE and `a` to ARG.
json() {
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const a = process.argv[3];
    const v = eval(process.argv[2]);
    if (v !== undefined && v !== null) console.log(v);' "$1" "$2" "${3-}"
}

BODY=$(mktemp "${TMPDIR:-/tmp}/xtd-body.XXXXXX")
trap 'rm -f "$CURL_CONFIG" "$BODY"' EXIT
# xapi METHOD PATH [curl args...]: calls the API, leaves the body in $BODY, prints the HTTP status.
xapi() {
  local method=$1 path=$2
  shift 2
  curl -sS -K "$CURL_CONFIG" -X "$method" -o "$BODY" -w '%{http_code}' "$@" "$HOST$path"
}

NAME=$(json "$COMMAND_FILE" 'd.name')
VERSION=$(json "$COMMAND_FILE" 'd.version')
IMAGE=$(json "$COMMAND_FILE" 'd.image')
WRAPPER=$(json "$COMMAND_FILE" 'd.xnat[0].name')
ROOT_INPUT=$(json "$COMMAND_FILE" 'd.xnat[0]["external-inputs"][0].name')

echo "Registering $NAME $VERSION ($IMAGE) on $HOST ..."
status=$(xapi POST /xapi/commands -H 'Content-Type: application/json' --data-binary "@$COMMAND_FILE")
case "$status" in
  200 | 201)
    COMMAND_ID=$(tr -d '[:space:]' <"$BODY")
    echo "  added as command $COMMAND_ID"
    ;;
  400)
    # The same name+image+version is refused as a duplicate: reuse the registered one.
    status=$(xapi GET "/xapi/commands?name=$NAME&version=$VERSION")
    [[ "$status" == 200 ]] || die "command exists but could not be looked up (HTTP $status)"
    COMMAND_ID=$(json "$BODY" '(d.find((c) => c.image === a) || {}).id' "$IMAGE")
    [[ -n "$COMMAND_ID" ]] || die "XNAT refused the command: $(head -c 500 "$BODY")"
    echo "  already registered as command $COMMAND_ID"
    ;;
  401 | 403) die "HTTP $status: check the credentials; adding commands needs the Container Manager role" ;;
  *) die "HTTP $status from POST /xapi/commands: $(head -c 500 "$BODY")" ;;
esac

status=$(xapi PUT "/xapi/commands/$COMMAND_ID/wrappers/$WRAPPER/enabled")
[[ "$status" =~ ^2 ]] || die "enabling $WRAPPER site-wide failed (HTTP $status): $(head -c 300 "$BODY")"
echo "  wrapper $WRAPPER enabled site-wide"
if [[ -n "$PROJECT" ]]; then
  status=$(xapi PUT "/xapi/projects/$PROJECT/commands/$COMMAND_ID/wrappers/$WRAPPER/enabled")
  [[ "$status" =~ ^2 ]] || die "enabling $WRAPPER on project $PROJECT failed (HTTP $status): $(head -c 300 "$BODY")"
  echo "  wrapper $WRAPPER enabled on project $PROJECT"
fi

status=$(xapi GET "/xapi/commands/$COMMAND_ID")
WRAPPER_ID=""
if [[ "$status" == 200 ]]; then
  WRAPPER_ID=$(json "$BODY" '((d.xnat || []).find((w) => w.name === a) || {}).id' "$WRAPPER")
fi
P=${PROJECT:-<PROJECT>}
echo
echo "Launch it from the project page (Run > Run Containers), or through REST:"
if [[ -n "$WRAPPER_ID" ]]; then
  echo "  POST $HOST/xapi/projects/$P/wrappers/$WRAPPER_ID/root/$ROOT_INPUT/launch"
fi
echo "  POST $HOST/xapi/projects/$P/commands/$COMMAND_ID/wrappers/$WRAPPER/root/$ROOT_INPUT/launch"
echo "  with Content-Type: application/json and a body such as {\"$ROOT_INPUT\": \"$P\"}"
