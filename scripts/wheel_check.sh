#!/usr/bin/env bash
# vaekit as a user gets it: build a wheel, install it into a fresh virtual environment that sees
# the dependencies already in .venv (torch etc.) but not the checkout's editable vaekit, and run
# the installed `vaekit` from a folder outside the repository. Offline: it downloads nothing.
# Fails (non-zero exit) when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=$REPO/.venv/bin/python
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vaekit-wheel.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "wheel_check: FAIL: $*" >&2; exit 1; }

# (a) The wheel, built from a copy of the sources (a build writes build/ and *.egg-info beside
# them, which must not land in the checkout) with .venv's setuptools (torch requires a recent
# one): no build isolation, so nothing is downloaded. With an old one, pip fetches the build's.
mkdir "$TMP/project"
cp -r pyproject.toml README.md src "$TMP/project/"
find "$TMP/project" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$TMP"/project/src/*.egg-info
ISOLATION=--no-build-isolation
"$PY" -c 'import setuptools as s; assert int(s.__version__.split(".")[0]) >= 77' 2>/dev/null \
  || ISOLATION=""
"$PY" -m pip wheel --quiet --no-deps $ISOLATION -w "$TMP/dist" "$TMP/project"
WHEEL=$(ls "$TMP"/dist/vaekit-*.whl)
echo "built $(basename "$WHEEL")"

# Every file of the package as copied (modules and any data files) is in the wheel.
"$PY" - "$WHEEL" "$TMP/project/src/vaekit" <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, root = sys.argv[1], Path(sys.argv[2])
have = set(zipfile.ZipFile(wheel).namelist())
want = {p.relative_to(root.parent).as_posix() for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts}
missing = sorted(want - have)
if missing:
    sys.exit(f"wheel_check: FAIL: the wheel lacks {len(missing)} files: {missing[:10]}")
print(f"the wheel holds all {len(want)} files of src/vaekit")
EOF

# (b) A fresh environment. A path line in a .pth file puts .venv's site-packages on sys.path
# without processing the .pth files in it, so .venv's editable-install hook (which would add
# the checkout's src/) stays off. No pip of its own: `python -m pip` finds .venv's pip on that
# path and installs into this environment (sys.prefix).
ENV=$TMP/env
"$PY" -m venv --without-pip "$ENV"
DEPS=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
SITE=$("$ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "$DEPS" > "$SITE/_vaekit_deps.pth"
mkdir "$TMP/work"
cd "$TMP/work"                      # outside the repository: nothing is imported from it
"$ENV/bin/python" -c "import torch" || fail "the environment does not see .venv's torch"
if "$ENV/bin/python" -c "import vaekit" 2>/dev/null; then
  fail "the fresh environment imports vaekit before the wheel is installed"
fi

# (c) The wheel, its dependencies found already installed (--no-index: no download). pip sees
# .venv's editable vaekit and, being outside this environment, leaves it alone.
"$ENV/bin/python" -m pip install --quiet --no-index "$WHEEL"
WHERE=$("$ENV/bin/python" -c "import vaekit; print(vaekit.__file__)")
case "$WHERE" in "$SITE"/*) echo "imports $WHERE" ;; *) fail "vaekit imported from $WHERE" ;; esac
ORIGIN=$(cd "$TMP" && "$PY" -c "import importlib.util as u; print(u.find_spec('vaekit').origin)")
case "$ORIGIN" in "$REPO"/src/*) ;; *) fail ".venv's editable vaekit was changed: $ORIGIN" ;; esac

# (d) The installed command, from outside the repository.
VERSION=$("$ENV/bin/vaekit" --version)
echo "$VERSION"
[ "$VERSION" = "vaekit $("$ENV/bin/python" -c 'import vaekit; print(vaekit.__version__)')" ] \
  || fail "--version says '$VERSION', the package says otherwise"
"$ENV/bin/vaekit" train --epochs 1 --eval-k 10 --eval-n 20 --name wheel --threads 2
for f in metrics.json metrics.jsonl samples.png best/meta.json; do
  [ -s "runs/wheel/$f" ] || fail "the run folder lacks runs/wheel/$f"
done
echo "wheel_check: OK ($(basename "$WHEEL"), ${SECONDS}s)"
