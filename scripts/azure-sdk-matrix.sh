#!/usr/bin/env bash
# The Azure backend's tests on the LOWEST supported azure-ai-ml (pyproject: azure-ai-ml>=1.28.1,<2).
# The highest supported release is the one the main .venv resolves (`pip install -e .[test]`), and the
# normal `pytest tests` run covers it; this script adds the other end of the range.
#
#   scripts/azure-sdk-matrix.sh            create/update .venv-azure-low, run tests/azure_fake + tests/backends
#   AZML_SDK_LOW=1.29.0 scripts/azure-sdk-matrix.sh   another version
#   scripts/azure-sdk-matrix.sh -k copy_in             extra arguments go to pytest
#
# The venv holds only what these tests import (the SDK, azure-identity/-storage-blob, the local engine's
# few dependencies, pytest, PyJWT) and the package itself without its dependencies, so pip cannot pull a
# newer azure-ai-ml in. The root tests/conftest.py (pytest-jupyter, a Jupyter server) is not loaded:
# --confcutdir stops conftest discovery below tests/, and tests/backends and tests/azure_fake bring
# their own fixtures. Azurite comes from tests/azurite/node_modules (npm ci there), as for the main suite.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

LOW_VERSION="${AZML_SDK_LOW:-1.28.1}"
VENV="${AZML_SDK_LOW_VENV:-.venv-azure-low}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("azure-ai-ml"))' 2>/dev/null || true)"
marker="$VENV/.azml-matrix-deps"
if [ "$installed" != "$LOW_VERSION" ] || [ ! -f "$marker" ] || [ pyproject.toml -nt "$marker" ] || [ "$0" -nt "$marker" ]; then
    echo "Installing azure-ai-ml==$LOW_VERSION and the test dependencies into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "azure-ai-ml==$LOW_VERSION" "azure-identity>=1.15" "azure-storage-blob>=12.19" azure-core \
        jupyter_core pyyaml psutil "blake3>=1.0" "pathspec>=0.12" requests \
        aiohttp pytest pytest-timeout PyJWT
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
    touch "$marker"
fi

actual="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("azure-ai-ml"))')"
if [ "$actual" != "$LOW_VERSION" ]; then
    echo "expected azure-ai-ml $LOW_VERSION in $VENV, found $actual" >&2
    exit 1
fi
echo "azure-ai-ml $actual ($VENV): tests/azure_fake tests/backends"

# pytest exits 5 when it collected nothing: here that is a failure too.
AZML_CI="${AZML_CI:-1}" exec "$VENV/bin/python" -m pytest tests/azure_fake tests/backends \
    --confcutdir=tests/backends -p no:cacheprovider -q -ra "$@"
