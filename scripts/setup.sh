#!/usr/bin/env bash
# Install what a fresh Debian machine lacks for poolnet: Debian packages (as root) and npm packages.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the daemon, the lab and the tests use.
PKGS=(openssl ca-certificates openvswitch-switch iproute2 nftables dnsmasq-base ethtool iputils-ping arping ndisc6 tcpdump iperf3 python3-scapy isc-dhcp-client util-linux chromium)
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The web console (console/ -> console/dist, served by poolnetd on GET /): built when missing or
# older than its sources or the datamodel it bundles.
if [ ! -f console/dist/index.html ] || [ -n "$(find console/src console/index.html console/vite.config.ts src/model package-lock.json -newer console/dist/index.html -print -quit 2>/dev/null)" ]; then
  echo "setup: building the web console"
  npm run --silent build:console
fi

# `xe` and `poolnet` as prebuilt JavaScript (scripts/build.ts -> dist/), so that they start without
# compiling TypeScript: built when missing or older than a source; bin/*.mjs run the sources
# (through tsx) while a bundle is older than a file it was built from.
if [ ! -f dist/xe.mjs ] || [ ! -f dist/poolnet.mjs ] || [ -n "$(find src scripts/build.ts package-lock.json \( -newer dist/xe.mjs -o -newer dist/poolnet.mjs \) -print -quit 2>/dev/null)" ]; then
  echo "setup: building dist/xe.mjs and dist/poolnet.mjs"
  npm run --silent build
fi

# `poolnet` and `xe` as commands a fresh shell finds (the lab's hints and the manual's procedures
# type them): links in /usr/local/bin to bin/*.mjs, made only where the name is free or already
# one of ours (a link into a poolnet checkout); a machine's own xe is never replaced.
link_command() {
  local name=$1 target dest
  target="$(pwd)/bin/$name.mjs"
  dest="/usr/local/bin/$name"
  if [ -L "$dest" ] && [ "$(readlink -f "$dest")" = "$(readlink -f "$target")" ]; then return; fi
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    # ours if it links to a bin/<name>.mjs of another poolnet checkout
    if ! { [ -L "$dest" ] && [[ "$(readlink "$dest")" == */bin/"$name".mjs ]]; }; then
      echo "setup: $dest exists and is not poolnet's: leaving it; run $target instead" >&2
      return
    fi
  fi
  if [ ! -w /usr/local/bin ]; then echo "setup: cannot write /usr/local/bin: run $target as $name" >&2; return; fi
  ln -sfn "$target" "$dest"
  echo "setup: $name -> $target"
}
link_command poolnet
link_command xe
if [ "$(command -v xe || true)" != "" ] && [ "$(readlink -f "$(command -v xe)")" != "$(readlink -f bin/xe.mjs)" ]; then
  echo "setup: note: 'xe' in this PATH is $(command -v xe), not poolnet's; the lab's hints name $(pwd)/bin/xe.mjs" >&2
fi
