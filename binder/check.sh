#!/usr/bin/env bash
# Check the Binder set-up as far as a machine without Docker allows.
#
# Builds a *fresh* virtual environment from the binder/ files alone, the way repo2docker would:
#   1. the Python of binder/runtime.txt;
#   2. pip install -r binder/requirements.txt — with one translation: the PyTorch CPU index is
#      not reachable here, so its --index-url/--extra-index-url lines are dropped and
#      `torch==X+cpu` becomes `torch==X` (on this machine that resolves to the local CPU wheel;
#      the environment check in postBuild then fails if a CUDA build came in). Every other line
#      is used exactly as written;
#   3. binder/postBuild, executed in the repository root with the new environment first on PATH;
# then checks the environment (pip check, JupyterLab with the widgets extension, the kernel) and
# runs the tour (notebooks/00_tour.ipynb) and, if present, the autocomplete notebook
# (notebooks/05_*.ipynb) headlessly with papermill.
#
# Usage: binder/check.sh [--keep]      (--keep: leave the work folder, printed at the end)
#        binder/check.sh --print-requirements   (print the translated requirements and stop)
# Environment: LAGNB_BINDER_WORK=<dir>: work there and keep the executed notebooks in <dir>/out
# (the venv is removed unless --keep); default: a temporary folder, removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# binder/requirements.txt for this machine: no PyTorch index lines, `torch==X+cpu` -> `torch==X`
local_requirements() {
    grep -v -E '^[[:space:]]*(--index-url|--extra-index-url|-i[[:space:]])' "$ROOT/binder/requirements.txt" \
        | sed -E 's/^([[:space:]]*torch[[:space:]]*==[[:space:]]*[0-9][0-9.]*)\+cpu/\1/'
}
if [[ "${1:-}" == "--print-requirements" ]]; then
    local_requirements
    exit 0
fi

KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1
WORK="${LAGNB_BINDER_WORK:-$(mktemp -d -t lagnb-binder-XXXXXX)}"
mkdir -p "$WORK"
cleanup() {
    if [[ $KEEP == 1 ]]; then
        echo "binder check: work folder kept at $WORK"
    elif [[ -n "${LAGNB_BINDER_WORK:-}" ]]; then
        rm -rf "$WORK/venv"  # ~1.7 GB; the executed notebooks stay in $WORK/out
    else
        rm -rf "$WORK"
    fi
    echo "binder check: cleaned up (${SECONDS}s)"
}
trap cleanup EXIT

fail() {
    echo "binder check FAILED: $*" >&2
    exit 1
}
stage() {
    echo "== [${SECONDS}s] $*"
}

cd "$ROOT"
for f in binder/runtime.txt binder/requirements.txt binder/postBuild; do
    [[ -f $f ]] || fail "$f is missing"
done
[[ -x binder/postBuild ]] || fail "binder/postBuild is not executable (repo2docker runs it as ./binder/postBuild)"

# 1. Python from runtime.txt ------------------------------------------------------------------
runtime="$(tr -d '[:space:]' < binder/runtime.txt)"
[[ $runtime =~ ^python-(3\.[0-9]+)$ ]] || fail "binder/runtime.txt should read python-3.X, not '$runtime'"
pyver="${BASH_REMATCH[1]}"
PYTHON="$(command -v "python$pyver" || true)"
[[ -n $PYTHON ]] || fail "python$pyver (binder/runtime.txt) is not installed on this machine"
# the base interpreter, even when python3.11 on PATH belongs to an activated virtual environment
PYTHON="$("$PYTHON" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
stage "fresh venv with $PYTHON ($("$PYTHON" --version)) in $WORK/venv"
rm -rf "$WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
VENV="$WORK/venv"
VPY="$VENV/bin/python"

# 2. binder/requirements.txt, with the torch index translated ---------------------------------
REQ="$WORK/requirements.local.txt"
local_requirements > "$REQ"
echo "lines changed for this machine (binder -> local):"
diff binder/requirements.txt "$REQ" | sed 's/^/    /' || true
stage "pip install -r binder/requirements.txt (translated)"
# --no-compile: byte-compiling torch & co. is a third of the install time here; modules compile
# on first import instead. (The 'Location ... is ignored' lines are this machine's pip config.)
"$VPY" -m pip install --quiet --no-compile -r "$REQ" 2>&1 | { grep -v "is ignored: it is neither" || true; }

# 3. postBuild, as repo2docker runs it ---------------------------------------------------------
stage "binder/postBuild"
PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" ./binder/postBuild

# 4. the environment ---------------------------------------------------------------------------
stage "checking the environment"
"$VPY" -m pip check || fail "pip check: binder/requirements.txt misses or breaks a dependency"
"$VPY" - <<'EOF'
import importlib.metadata as md
from pathlib import Path

import lagnb

print(f"    lagnb {lagnb.__version__} from {Path(lagnb.__file__).resolve().parent}")
for dist in ("torch", "transformers", "jupyterlab", "ipywidgets", "jupyterlab_widgets", "papermill"):
    print(f"    {dist} {md.version(dist)}")
EOF
# isolate Jupyter's user-level folders so that the kernel is this environment's python
export JUPYTER_DATA_DIR="$WORK/jupyter-data" JUPYTER_CONFIG_DIR="$WORK/jupyter-config"
unset JUPYTER_PATH JUPYTER_CONFIG_PATH
"$VPY" -m ipykernel install --sys-prefix --name python3 >/dev/null
"$VENV/bin/jupyter" lab --version >/dev/null || fail "jupyter lab does not start"
ext="$("$VENV/bin/jupyter" labextension list 2>&1)"
grep -q "@jupyter-widgets/jupyterlab-manager.*enabled.*OK" <<<"$ext" \
    || fail "the ipywidgets JupyterLab extension is not enabled:"$'\n'"$ext"
kernel_python="$("$VPY" -c "from jupyter_client.kernelspec import KernelSpecManager as K; print(K().get_kernel_spec('python3').argv[0])")"
[[ "$kernel_python" -ef "$VPY" ]] || fail "kernel python3 runs $kernel_python, not $VPY"

# 5. the notebooks, headless -------------------------------------------------------------------
mkdir -p "$WORK/out"
notebooks=(notebooks/00_tour.ipynb)
for nb in notebooks/05_*.ipynb; do
    [[ -f $nb ]] && notebooks+=("$nb")
done
for nb in "${notebooks[@]}"; do
    [[ -f $nb ]] || fail "$nb is missing"
    stage "papermill $nb"
    PATH="$VENV/bin:$PATH" "$VENV/bin/papermill" --no-progress-bar -k python3 \
        "$nb" "$WORK/out/$(basename "$nb")" >/dev/null \
        || fail "$nb failed under papermill (output in $WORK/out; rerun with --keep)"
done

stage "binder check passed (${SECONDS}s)"
