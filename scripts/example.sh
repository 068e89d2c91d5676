#!/usr/bin/env bash
# The README's first command: builds drove, then runs the bundled clustered Node app
# (examples/cluster-app/app.js, the seeds' app.js) on 2 instances sharing port 3000, and shows
# that both answer. Safe to run twice: the example app is replaced, not duplicated.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
drove=build/drove
port=${PORT:-3000}

$drove delete cluster-example >/dev/null 2>&1 || true
PORT=$port $drove start examples/cluster-app/app.js --name cluster-example -i 2
echo
echo "[example] 6 requests to http://127.0.0.1:$port/ :"
for _ in 1 2 3 4 5 6; do
  for _ in $(seq 50); do curl -s --max-time 2 "http://127.0.0.1:$port/" && break || sleep 0.1; done
  echo
done
echo
echo "[example] running under drove. Try: $drove list | $drove logs cluster-example | $drove reload cluster-example | $drove delete cluster-example"
