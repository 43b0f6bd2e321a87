#!/usr/bin/env bash
# Meterkeep local infrastructure stack, without containers.
#
#   stack.sh up            start whatever is not running (idempotent; a no-op when all is up)
#   stack.sh down          stop what `up` started (Kafka, S3Proxy); never the machine's PostgreSQL/Redis
#   stack.sh status        one line per component, up/down (exit 0 when all are up, 3 otherwise)
#   stack.sh env           `export VAR=value` lines for shells and test harnesses
#   stack.sh stop-kafka    stop only the Kafka broker
#   stack.sh start-kafka   start only the Kafka broker and wait until it answers
#
# The work is done in TypeScript by libs/local-stack and libs/local-stack-cli (which the test setup and
# the demo import too); this entry runs their build in dist/, building first when dist/ is missing or
# older than libs/.
# See README.md beside this file.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
CLI=$REPO_ROOT/dist/libs/local-stack-cli/src/cli.js

# Node 24 from the `node` devDependency when npm ci installed it, as npm scripts get it.
NODE=$REPO_ROOT/node_modules/.bin/node
[[ -x $NODE ]] || NODE=$(command -v node) || {
  echo "stack.sh: error: node not found: run npm ci first" >&2
  exit 1
}

stale() {
  [[ -f $CLI ]] || return 0
  [[ -n $(find "$REPO_ROOT/libs" "$REPO_ROOT/tsconfig.base.json" -newer "$CLI" -not -path '*/node_modules/*' \
    \( -name '*.ts' -not -name '*spec.ts' -not -path '*/test/*' -o -name tsconfig.base.json \) -print -quit) ]]
}

if stale; then
  # What `npm run build` does; its one line goes to stderr so `env` prints only exports.
  "$NODE" "$REPO_ROOT/tools/build.mjs" >&2 || {
    echo "stack.sh: error: building the stack code failed (node tools/build.mjs)" >&2
    exit 1
  }
fi
# V8's code cache for the clients it loads: a third less CPU per call when nothing changed.
export NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE:-$REPO_ROOT/node_modules/.cache/node-compile-cache}
exec "$NODE" "$CLI" "$0" "$@"
