#!/usr/bin/env bash
# Debian packages the test suite needs: PostgreSQL's server binaries (the suite starts its own
# server in a temp dir), Chromium (the browser tests drive /usr/bin/chromium) and Node.js with
# npm (the dashboard's build). Installed only when missing; a no-op on a machine that has them.
set -euo pipefail

need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
id -u postgres >/dev/null 2>&1 || need+=(postgresql)
test -x /usr/bin/chromium || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "system-deps: need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Vite needs Node.js 20.19 or newer; Debian 12 ships 18, so say where to get a newer one.
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "system-deps: the dashboard build needs Node.js >= 20.19 (found $(node --version));" \
    "install it from https://nodejs.org or NodeSource" >&2
  exit 1
}
