#!/usr/bin/env bash
# The libvirt tests on another Debian release's libvirt and QEMU, in a root that
# scripts/with-debian.sh builds (once, cached): bash scripts/check-debian.sh trixie [PYTEST ARGS...]
# A skipped test fails the run: in such a root every component is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -ge 1 ] || { echo "usage: $0 SUITE [PYTEST ARGS...]" >&2; exit 2; }
suite=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
bash scripts/with-debian.sh "$suite" python -m pytest -q -rs tests/libvirt "$@" 2>&1 | tee "$log" \
    || status=$?
if grep -q "^SKIPPED" "$log"; then
    echo "check-debian: tests were skipped on $suite; none may be" >&2
    exit 1
fi
exit "$status"
