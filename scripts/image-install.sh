#!/usr/bin/env bash
# The image's install steps, in one place: the Dockerfile runs them, and so does scripts/docker-recipe.sh
# (in a clean virtual environment) to prove the recipe where no Docker engine exists.
#
#   image-install.sh torch            CPU torch, pinned, first (from $TORCH_INDEX_URL when set, else
#                                     from pip's own configuration: an index or a folder of wheels)
#   image-install.sh project SRC      the project from SRC, not editable, with the shipped models, its
#                                     run-time dependencies at SRC/requirements.lock's versions
#
# PYTHON (default: python) is the interpreter of the environment to install into.
set -euo pipefail

PYTHON=${PYTHON:-python}
TORCH="torch==2.13.0"
pip_install() { "$PYTHON" -m pip install --no-cache-dir --disable-pip-version-check "$@"; }

case "${1:-}" in
torch)
    if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
        pip_install --index-url "$TORCH_INDEX_URL" "$TORCH"
    else
        pip_install "$TORCH"
    fi
    ;;
project)
    src=${2:?usage: image-install.sh project SRC}
    pip_install -c "$src/requirements.lock" "$src"
    # the pages read templates/ and static/ beside the installed server package
    site=$(cd / && "$PYTHON" -I -c 'import pathlib, server; print(pathlib.Path(server.__file__).resolve().parents[1])')
    cp -r "$src/templates" "$src/static" "$site/"
    # the shipped models came in as package data; refuse an image that would serve none
    (cd / && "$PYTHON" -I -c 'from models.loading import shipped_models as s; n = s(); assert n, "no models"; print("models:", *n)')
    ;;
*)
    echo "usage: image-install.sh torch | project SRC" >&2
    exit 2
    ;;
esac
