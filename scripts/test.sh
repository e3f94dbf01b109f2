#!/usr/bin/env bash
# The tests: set up, then run the whole suite (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the HTML report test renders in headless Chromium (Debian's chromium package)
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } \
    >/dev/null 2>&1 || echo "could not install chromium; the report test will fail" >&2
fi
exec .venv/bin/python -m pytest -q -rs "$@"
