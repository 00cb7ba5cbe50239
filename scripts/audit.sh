#!/usr/bin/env bash
# Audits the project's installed dependencies (the locked set: `pip freeze` of .venv) for known
# vulnerabilities with pip-audit, which runs from its own environment (build/audit-venv) so its own
# dependencies are not mixed into the report. Writes artifacts/audit.txt.
# Exit status: pip-audit's (1 when a vulnerability is found); 2 when no package could be audited
# (the vulnerability service could not be reached or knows none of the versions).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV_PY=${VENV_PY:-$ROOT/.venv/bin/python}
AUDIT=$ROOT/build/audit-venv
OUT=$ROOT/artifacts/audit.txt
LOCK=$ROOT/build/requirements-lock.txt
mkdir -p "$ROOT/build" "$ROOT/artifacts"

if [[ ! -x $AUDIT/bin/pip-audit ]]; then
    python3 -m venv "$AUDIT" && "$AUDIT/bin/python" -m pip install --quiet "pip-audit>=2.7" || exit 2
fi
"$VENV_PY" -m pip freeze --exclude-editable | grep -v '^#' >"$LOCK"
total=$(grep -c . "$LOCK")

{
    echo "pip-audit $("$AUDIT/bin/pip-audit" --version | cut -d' ' -f2) on $total pinned packages of $VENV_PY ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
} >"$OUT"
"$AUDIT/bin/pip-audit" -r "$LOCK" --no-deps --disable-pip --desc on --progress-spinner off "$@" >>"$OUT" 2>&1
rc=$?
skipped=$(grep -c "could not be audited" "$OUT")
echo >>"$OUT"
echo "audited: $((total - skipped)) of $total packages; skipped: $skipped; pip-audit exit status: $rc" >>"$OUT"
tail -n 1 "$OUT"
if [[ $skipped -ge $total ]]; then
    echo "no package could be audited: pip-audit's vulnerability service did not answer for these versions" | tee -a "$OUT"
    exit 2
fi
exit $rc
