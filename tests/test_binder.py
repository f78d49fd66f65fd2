"""The Binder set-up (binder/): static checks, and the full check of binder/check.sh (slow).

repo2docker cannot run here (no Docker), so the slow test builds a fresh virtual environment
from the binder files alone with binder/check.sh and runs the tour under papermill.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
TORCH = Version("2.13.0")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _lines(path: Path) -> list[str]:
    """Non-blank lines without comments."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _options_and_requirements(path: Path) -> tuple[list[str], list[Requirement]]:
    options, reqs = [], []
    for line in _lines(path):
        (options if line.startswith("-") else reqs).append(line)
    return options, [Requirement(r) for r in reqs]


def test_runtime_pins_python_311():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_postbuild_starts_with_set_e_and_installs_the_package():
    path = BINDER / "postBuild"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n") or text.startswith("#!/usr/bin/env bash\n")
    assert os.access(path, os.X_OK), "repo2docker runs ./binder/postBuild: it must be executable"
    commands = [line for line in _lines(path) if not line.startswith("#")]
    assert re.fullmatch(r"set -[a-z]*e[a-z]*( -o pipefail)?", commands[0]), commands[0]
    installs = [c for c in commands if re.search(r"pip install\b", c)]
    assert installs and all(re.search(r"-e \.$", c) for c in installs), installs
    assert any("check_environment" in c for c in commands)


def test_requirements_can_only_resolve_a_cpu_torch():
    options, reqs = _options_and_requirements(BINDER / "requirements.txt")
    # exactly one index option, the PyTorch CPU index, added to (not replacing) PyPI
    assert options == [f"--extra-index-url {CPU_INDEX}"]
    torch = [r for r in reqs if canonicalize_name(r.name) == "torch"]
    assert len(torch) == 1
    (spec,) = torch[0].specifier
    assert spec.operator == "=="
    version = Version(spec.version)
    assert version.public == str(TORCH)
    # the +cpu local version exists only on the CPU index: PyPI's CUDA wheel cannot match it
    assert version.local == "cpu"
    names = {canonicalize_name(r.name) for r in reqs}
    assert not any(n.startswith("nvidia-") or n in {"triton", "pytorch-triton"} for n in names)


def test_requirements_cover_the_package_dependencies():
    """postBuild installs lagnb with --no-deps, so binder/requirements.txt must list them all,
    compatibly with pyproject.toml."""
    _, reqs = _options_and_requirements(BINDER / "requirements.txt")
    binder = {canonicalize_name(r.name): r for r in reqs}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in map(Requirement, project["dependencies"]):
        name = canonicalize_name(dep.name)
        assert name in binder, f"{dep.name} (pyproject.toml) is missing from binder/requirements"
        pins = [s.version for s in binder[name].specifier if s.operator == "=="]
        for pin in pins:
            assert dep.specifier.contains(Version(pin).public, prereleases=True), (dep, pin)


def test_requirements_have_jupyterlab_and_widgets():
    _, reqs = _options_and_requirements(BINDER / "requirements.txt")
    names = {canonicalize_name(r.name) for r in reqs}
    assert {"jupyterlab", "ipywidgets", "jupyterlab-widgets", "ipykernel"} <= names


def test_the_shipped_model_is_package_data():
    """The shipped model travels inside the package (lagnb/shipped/), installed by postBuild."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert any(p.startswith("shipped/") for p in data["package-data"]["lagnb"])


def test_check_script_translates_only_the_torch_index():
    out = subprocess.run(
        ["bash", str(BINDER / "check.sh"), "--print-requirements"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    original = (BINDER / "requirements.txt").read_text().splitlines()
    assert not any("index-url" in line for line in out)
    assert "torch==2.13.0" in out
    # every other line is kept exactly
    kept = [line for line in original if "index-url" not in line and not line.startswith("torch")]
    assert [line for line in out if not line.startswith("torch")] == kept


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("python3.11") is None, reason="needs python3.11 (runtime.txt)")
def test_binder_environment_builds_and_runs_the_tour(tmp_path):
    """Fresh venv from the binder files, postBuild, environment checks, the tour under
    papermill (binder/check.sh; a few minutes, mostly pip)."""
    env = dict(os.environ, LAGNB_BINDER_WORK=str(tmp_path / "binder"))
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        ["bash", str(BINDER / "check.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "binder check passed" in proc.stdout
    assert (tmp_path / "binder" / "out" / "00_tour.ipynb").is_file()
