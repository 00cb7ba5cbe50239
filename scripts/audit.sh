#!/usr/bin/env bash
# Audits the locked run-time dependencies (requirements.lock: what the image installs) for known
# vulnerabilities with pip-audit, which runs from its own environment (build/audit-venv) so its own
# dependencies are not mixed into the report. Writes artifacts/audit.txt.
# Exit status: 1 when a vulnerability is found, 2 when no package could be audited, else 0. Where
# pip-audit's vulnerability service does not answer, scripts/audit_pypi.py reads PyPI's project JSON.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
AUDIT=$ROOT/build/audit-venv
OUT=$ROOT/artifacts/audit.txt
LOCK=${LOCK:-$ROOT/requirements.lock}
mkdir -p "$ROOT/build" "$ROOT/artifacts"

if [[ ! -x $AUDIT/bin/pip-audit ]]; then
    python3 -m venv "$AUDIT" && "$AUDIT/bin/python" -m pip install --quiet "pip-audit>=2.7" || exit 2
fi
total=$(grep -vc '^#' "$LOCK")

{
    echo "pip-audit $("$AUDIT/bin/pip-audit" --version | cut -d' ' -f2) on $total pinned packages of $LOCK ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
} >"$OUT"
"$AUDIT/bin/pip-audit" -r "$LOCK" --no-deps --disable-pip --desc on --progress-spinner off "$@" >>"$OUT" 2>&1
rc=$?
skipped=$(grep -c "could not be audited" "$OUT")
echo >>"$OUT"
echo "audited: $((total - skipped)) of $total packages; skipped: $skipped; pip-audit exit status: $rc" >>"$OUT"
tail -n 1 "$OUT"
if [[ $skipped -ge $total ]]; then
    # pip-audit's per-version lookups failed: PyPI's project JSON still lists the latest release's
    # known vulnerabilities, which audits every pin that is the latest release
    echo "pip-audit could not audit these versions; falling back to PyPI's project JSON" | tee -a "$OUT"
    echo >>"$OUT"
    PY=${PYTHON_FOR_AUDIT:-$ROOT/.venv/bin/python}
    "$PY" "$ROOT/scripts/audit_pypi.py" "$LOCK" >>"$OUT" 2>&1
    rc=$?
    tail -n 1 "$OUT"
fi
exit $rc
