#!/usr/bin/env bash
# The demo: set up, then train a VAE on scikit-learn's 8x8 digits (no download) and write
# runs/<name>/ with checkpoints, metrics.json, samples.png and reconstructions.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vaekit train "$@"
