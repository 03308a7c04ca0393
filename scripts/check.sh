#!/usr/bin/env bash
# Every check CI runs: ruff, mypy (strict on the model), the import layers and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check snaporacle model fakes adapters reference tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest -q "$@"
