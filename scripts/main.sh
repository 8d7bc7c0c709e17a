#!/usr/bin/env bash
# The main job: set up what is missing, then run poolnetd on this machine.
# (The lab pool with its console replaces this once the lab exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
DATA="${POOLNET_DATA_DIR:-$PWD/data}"
mkdir -p "$DATA"
if [ ! -f "$DATA/pool.db" ] && [ -z "${POOLNET_ROOT_PASSWORD:-}" ]; then
  POOLNET_ROOT_PASSWORD="$(openssl rand -hex 12)"
  export POOLNET_ROOT_PASSWORD
  echo "main: first start; the root password is: $POOLNET_ROOT_PASSWORD"
fi
exec ./bin/poolnet.mjs serve --data-dir "$DATA" --port "${POOLNET_PORT:-8443}" --bind "${POOLNET_BIND:-127.0.0.1}"
