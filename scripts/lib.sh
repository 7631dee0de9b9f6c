# Shared set-up steps for scripts/test and scripts/lab. Source it; do not run it.
#
# Each step is a bash function run by `run_step NAME FUNCTION [ARGS...]`, which prints a banner
# and times it. The scripts run with `set -euo pipefail`, so the first failing command ends the
# script; the EXIT trap (`report_steps`) then names the step that failed and prints every
# step's duration. (Steps are not run as `fn || ...`: bash ignores `set -e` inside such a call.)

# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
CHECKOV_VENV="$REPO_ROOT/.venv-checkov"
CHECKOV_VERSION="3.3.30"
CHROMIUM_BIN="${AZML_CHROMIUM:-/usr/bin/chromium}"
MIN_PYTHON="3.10"

STEP_NAMES=()
STEP_SECONDS=()
STEP_RESULTS=()
CURRENT_STEP=""
CURRENT_STEP_START=""

banner() {
    printf '\n\033[1m==> %s\033[0m\n' "$*"
}

die() {
    printf '\n\033[31mERROR: %s\033[0m\n' "$*" >&2
    exit 1
}

seconds_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# run_step "human name" function [args...]
run_step() {
    local name="$1"
    shift
    CURRENT_STEP="$name"
    CURRENT_STEP_START=$EPOCHREALTIME
    banner "$name"
    "$@"
    local seconds
    seconds=$(seconds_since "$CURRENT_STEP_START")
    STEP_NAMES+=("$name")
    STEP_SECONDS+=("$seconds")
    STEP_RESULTS+=("ok")
    CURRENT_STEP=""
    printf '<== %s: ok in %ss\n' "$name" "$seconds"
}

print_summary() {
    local total=0 i
    printf '\n\033[1m==> Summary\033[0m\n'
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-46s %8ss  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECONDS[$i]}" "${STEP_RESULTS[$i]}"
        total=$(awk -v a="$total" -v b="${STEP_SECONDS[$i]}" 'BEGIN { printf "%.1f", a + b }')
    done
    printf '  %-46s %8ss\n' "total" "$total"
}

# EXIT trap helper: record the step that was running (if any) as failed, then print the summary.
# Usage: trap 'report_steps $?' EXIT
report_steps() {
    local rc="$1"
    if [ -n "$CURRENT_STEP" ]; then
        STEP_NAMES+=("$CURRENT_STEP")
        STEP_SECONDS+=("$(seconds_since "$CURRENT_STEP_START")")
        STEP_RESULTS+=("FAILED (exit $rc)")
    fi
    print_summary
    if [ -n "$CURRENT_STEP" ]; then
        printf '\n\033[31mFAILED at step "%s" (exit %s); its output is above.\033[0m\n' "$CURRENT_STEP" "$rc" >&2
    elif [ "$rc" -ne 0 ]; then
        printf '\n\033[31mFAILED (exit %s)\033[0m\n' "$rc" >&2
    fi
}

# Node and yarn behind a TLS-intercepting proxy: the machine's CA bundle must be trusted
# explicitly. jlpm is yarn 3, whose setting is caFilePath (YARN_CA_FILE_PATH).
export_ca_settings() {
    local bundle=/etc/ssl/certs/ca-certificates.crt
    if [ -f "$bundle" ]; then
        export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-$bundle}"
        export YARN_CA_FILE_PATH="${YARN_CA_FILE_PATH:-$bundle}"
    fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root or sudo to install Debian packages: $*"
        sudo=(sudo -E)
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq "$@"
}

# (a) Debian's Chromium for the browser tests (Playwright never downloads a browser here).
ensure_chromium() {
    if [ -x "$CHROMIUM_BIN" ]; then
        echo "chromium present: $CHROMIUM_BIN"
    else
        apt_install chromium
        [ -x "$CHROMIUM_BIN" ] || die "chromium installed but $CHROMIUM_BIN is missing"
    fi
    # The Debian wrapper prints a harmless '[: unexpected operator' line on some machines.
    "$CHROMIUM_BIN" --version 2>/dev/null | tail -n 1
}

check_python() {
    command -v python3 >/dev/null || die "python3 not found"
    python3 -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$MIN_PYTHON'.split('.'))))" \
        || die "Python >= $MIN_PYTHON needed, found $(python3 --version)"
}

# (b) The project's virtual environment, with the package installed editable. Installing it
# builds the labextension (jlpm install + jlpm build) through hatch-jupyter-builder.
# Usage: ensure_venv EXTRA   (test or lab)
ensure_venv() {
    local extra="$1"
    check_python
    export_ca_settings
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    # `jupyter labextension develop` replaces the installed copy with a symlink to
    # azml_jupyter/labextension; pip would then write install.json through it into the
    # build folder, and the next wheel build fails on a duplicate install.json. Undo it.
    local linked="$VENV/share/jupyter/labextensions/azml-jupyter"
    if [ -L "$linked" ]; then
        rm -f "$linked" "$REPO_ROOT/azml_jupyter/labextension/install.json"
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$REPO_ROOT[$extra]"
    activate_venv
}

activate_venv() {
    [ -x "$VENV/bin/python" ] || die "$VENV does not exist; run scripts/test or scripts/lab first"
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
    hash -r
}

# node_modules for jest: the editable build installs them, but skips everything when the
# built labextension is newer than src/. Reinstall only when the lockfile is newer.
ensure_node_modules() {
    export_ca_settings
    local state="$REPO_ROOT/node_modules/.yarn-state.yml"
    if [ -f "$state" ] && [ "$state" -nt "$REPO_ROOT/yarn.lock" ] && [ "$state" -nt "$REPO_ROOT/package.json" ]; then
        echo "node_modules up to date"
    else
        (cd "$REPO_ROOT" && jlpm install)
    fi
}

# (c) checkov in a venv of its own: it pins bc-python-hcl2, whose `hcl2` module clashes
# with python-hcl2 8 (used by the terraform tests) in one environment.
ensure_checkov() {
    check_python
    local bin="$CHECKOV_VENV/bin/checkov"
    if [ -x "$bin" ] && [ "$("$CHECKOV_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null)" = "$CHECKOV_VERSION" ]; then
        echo "checkov $CHECKOV_VERSION present"
    else
        [ -x "$CHECKOV_VENV/bin/python" ] || python3 -m venv "$CHECKOV_VENV"
        "$CHECKOV_VENV/bin/python" -m pip install --disable-pip-version-check -q "checkov==$CHECKOV_VERSION"
    fi
    export CHECKOV_BIN="$bin"
    # Offline: no update check, no guideline download.
    export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true
    echo "CHECKOV_BIN=$CHECKOV_BIN"
}

# (d) Azurite (npm) as the real blob service for the copy-in tests, when that folder exists.
ensure_azurite() {
    local dir="$REPO_ROOT/tests/azurite"
    if [ ! -f "$dir/package.json" ]; then
        echo "no tests/azurite/package.json: skipping Azurite"
        return 0
    fi
    export_ca_settings
    if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        echo "tests/azurite/node_modules up to date"
    else
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    export AZURITE_BIN="$dir/node_modules/.bin/azurite-blob"
    [ -x "$AZURITE_BIN" ] || die "npm ci in tests/azurite did not provide $AZURITE_BIN"
    echo "AZURITE_BIN=$AZURITE_BIN"
}
