#!/usr/bin/env bash
# The main job: set up what is missing (as root), then bring up the lab pool on this machine:
# a fabric switch, hosts with their NICs, Open vSwitch and poolnetd each, and VMs.
# Safe to run twice. `./bin/poolnet.mjs lab down` removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec ./bin/poolnet.mjs lab up --hosts "${POOLNET_LAB_HOSTS:-2}" --nics "${POOLNET_LAB_NICS:-3}" --vms "${POOLNET_LAB_VMS:-4}" --port "${POOLNET_PORT:-8080}" "$@"
