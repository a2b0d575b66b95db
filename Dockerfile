# The XNAT Container Service command image: `node --max-semi-space-size=4 --single-threaded-gc --no-incremental-marking --expose-gc /app/dist/cli.js import <manifest> …`.
# docs/container.md explains installing, launching and building it (also behind a TLS-intercepting proxy).
# The base is a pinned Node LTS major on Debian bookworm, slim variant.

# ---- build: dev dependencies, TypeScript -> bundled dist/ -----------------------------------------
FROM node:26-bookworm-slim AS build
# Only the build stages reach the npm registry, so only they take an extra CA bundle (a file that
# must be visible inside the build, e.g. bind-mounted with `podman build -v`). An ARG is scoped to
# its stage, so it does not exist in the runtime image.
ARG NODE_EXTRA_CA_CERTS
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Type-checks, then bundles src/ and its packages into dist/ (scripts/build.mjs says why).
COPY scripts/build.mjs ./scripts/
RUN npm run build

# ---- production dependencies only -----------------------------------------------------------------
FROM node:26-bookworm-slim AS prod-deps
ARG NODE_EXTRA_CA_CERTS
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------------
FROM node:26-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/*.js need.
COPY package.json command.json ./
COPY resources ./resources
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A numeric, non-root UID: the Container Service's Kubernetes backend requires a numeric container
# user (CS 3.2.0 limitations). No passwd entry is needed; the tool writes only to its output dir.
USER 10001:10001
# node runs as PID 1 with no init: the kernel delivers to PID 1 only signals it has handlers for,
# and the CLI installs its own SIGTERM/SIGINT handlers (report written, non-zero exit). It spawns no
# child processes, so there are no zombies to reap. With override-entrypoint false in command.json
# the Container Service passes its resolved command line as arguments here, with no shell between.
# The node flags are the ones in the CLI's shebang (src/cli.ts): a small young generation (4 MB), the garbage
# collector on the main thread, and no incremental marking, which cut the CPU and the peak memory per
# byte moved. The last matters on this image's Node: its V8 counts freed download buffers as pressure
# and, with incremental marking, runs a full collection every few hundred ms (docs/benchmarks.md).
# --expose-gc lets the IDC index lookup collect after each row group (src/sources/idc/index-reader.ts).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--single-threaded-gc", "--no-incremental-marking", "--expose-gc", "/app/dist/cli.js"]

# Generated from command.json by scripts/generate-command-label.ts; do not edit by hand.
LABEL org.nrg.commands="[{\"name\":\"xnat-tcia-download\",\"label\":\"TCIA manifest import\",\"description\":\"Imports every series listed in a TCIA manifest (.tcia or .csv) into an XNAT project: downloads each series from TCIA, verifies it, uploads and archives it, and writes a report. The tool itself attaches the import report and log to the project as the resource TCIA_IMPORT_LOGS/<run id>/, also after a failed run, and only when the run changed something in XNAT: it had series to send, or it committed or removed what an interrupted run left in the prearchive.\",\"version\":\"2.0.0\",\"schema-version\":\"1.0\",\"image\":\"xnat-tcia-download:2.0.0\",\"type\":\"docker\",\"command-line\":\"import \\\"/input/#MANIFEST#\\\" --project #PROJECT_ID# #TARGET_PROJECT# --output-dir /output #CONCURRENCY# #DRY_RUN# #LOG_LEVEL# #SOURCE# #IDC_INDEX# #IDC_ENDPOINT#\",\"override-entrypoint\":false,\"mounts\":[{\"name\":\"manifest-in\",\"writable\":false,\"path\":\"/input\"},{\"name\":\"logs-out\",\"writable\":true,\"path\":\"/output\"}],\"environment-variables\":{},\"inputs\":[{\"name\":\"manifest\",\"label\":\"Manifest file\",\"description\":\"File name of the manifest inside the project resource TCIA; set from the selected manifest file.\",\"type\":\"string\",\"required\":true,\"replacement-key\":\"#MANIFEST#\"},{\"name\":\"project_id\",\"label\":\"Project ID\",\"description\":\"ID of the project the container was launched on; the import target unless target_project is set.\",\"type\":\"string\",\"required\":true,\"replacement-key\":\"#PROJECT_ID#\"},{\"name\":\"target_project\",\"label\":\"Target project\",\"description\":\"Import into this project ID instead of the launching project. It is created if it does not exist. Leave empty to import into the launching project.\",\"type\":\"string\",\"required\":false,\"replacement-key\":\"#TARGET_PROJECT#\",\"command-line-flag\":\"--project\"},{\"name\":\"concurrency\",\"label\":\"Concurrent series\",\"description\":\"How many series are downloaded and uploaded at the same time.\",\"type\":\"number\",\"required\":false,\"default-value\":\"4\",\"replacement-key\":\"#CONCURRENCY#\",\"command-line-flag\":\"--concurrency\"},{\"name\":\"dry_run\",\"label\":\"Dry run\",\"description\":\"Read the manifest and report what would be imported, without importing anything.\",\"type\":\"boolean\",\"required\":false,\"default-value\":\"false\",\"replacement-key\":\"#DRY_RUN#\",\"true-value\":\"--dry-run\",\"false-value\":\"\"},{\"name\":\"log_level\",\"label\":\"Log level\",\"description\":\"Detail of the readable log on the container's stdout (View StdOut.log); the summary line is printed at any level. The JSON log, run.log.jsonl, always keeps debug detail.\",\"type\":\"select-one\",\"required\":false,\"default-value\":\"info\",\"select-values\":[\"fatal\",\"error\",\"warn\",\"info\",\"debug\",\"trace\"],\"replacement-key\":\"#LOG_LEVEL#\",\"command-line-flag\":\"--log-level\"},{\"name\":\"source\",\"label\":\"Source\",\"description\":\"Where series come from: auto (IDC's mirror of TCIA for every series its index holds, NBIA for the rest and as the fallback), idc (IDC only) or nbia (NBIA only).\",\"type\":\"select-one\",\"required\":false,\"default-value\":\"auto\",\"select-values\":[\"auto\",\"idc\",\"nbia\"],\"replacement-key\":\"#SOURCE#\",\"command-line-flag\":\"--source\"},{\"name\":\"idc_index\",\"label\":\"IDC index URL\",\"description\":\"URL of IDC's tcia_idc_subset.parquet, for a mirror; leave empty for IDC's public index.\",\"type\":\"string\",\"required\":false,\"replacement-key\":\"#IDC_INDEX#\",\"command-line-flag\":\"--idc-index\"},{\"name\":\"idc_endpoint\",\"label\":\"IDC S3 endpoint\",\"description\":\"Root URL of an S3-compatible mirror of IDC's buckets, addressed <URL>/<bucket>/<key>; leave empty for AWS.\",\"type\":\"string\",\"required\":false,\"replacement-key\":\"#IDC_ENDPOINT#\",\"command-line-flag\":\"--idc-endpoint\"}],\"outputs\":[],\"xnat\":[{\"name\":\"xnat-tcia-download-project\",\"label\":\"Import TCIA manifest\",\"description\":\"Import the series of a TCIA manifest (.tcia or .csv) stored in this project's resource TCIA into this project, or into another project given as Target project.\",\"contexts\":[\"xnat:projectData\"],\"external-inputs\":[{\"name\":\"project\",\"label\":\"Project\",\"description\":\"The project the container is launched on; it holds the resource TCIA with the manifest.\",\"type\":\"Project\",\"required\":true}],\"derived-inputs\":[{\"name\":\"project_id\",\"label\":\"Project ID\",\"description\":\"The launching project's ID, the default import target.\",\"type\":\"string\",\"required\":true,\"user-settable\":false,\"derived-from-wrapper-input\":\"project\",\"derived-from-xnat-object-property\":\"id\",\"provides-value-for-command-input\":\"project_id\"},{\"name\":\"manifest_resource\",\"label\":\"Manifest resource\",\"description\":\"The project resource labelled TCIA that holds the manifest; mounted read-only at /input.\",\"type\":\"Resource\",\"required\":true,\"user-settable\":false,\"matcher\":\"@.label == 'TCIA'\",\"derived-from-wrapper-input\":\"project\",\"provides-files-for-command-mount\":\"manifest-in\"},{\"name\":\"manifest_file\",\"label\":\"Manifest\",\"description\":\"The manifest to import: a .tcia or .csv file in the resource TCIA.\",\"type\":\"File\",\"required\":true,\"matcher\":\"@.name =~ /.*[.](tcia|csv)/i\",\"derived-from-wrapper-input\":\"manifest_resource\"},{\"name\":\"manifest_name\",\"label\":\"Manifest file name\",\"description\":\"The selected manifest's file name, passed to the tool as /input/<name>.\",\"type\":\"string\",\"required\":true,\"user-settable\":false,\"derived-from-wrapper-input\":\"manifest_file\",\"derived-from-xnat-object-property\":\"name\",\"provides-value-for-command-input\":\"manifest\"}],\"output-handlers\":[]}]}]"
