"""Headless notebook runs (papermill): parameters, failing cells, the pipeline, profiles."""

import json
import subprocess
import sys

import nbformat
import pytest

from lagnb import cli, pipeline
from lagnb.data.build import SampleParams
from lagnb.errors import LagnbError
from lagnb.paths import repo_root
from lagnb.pipeline import (
    NOTEBOOKS,
    PROFILES,
    NotebookError,
    dataset_params,
    notebook_parameters,
    notebooks_in_order,
    parse_value,
    run_notebook,
    run_pipeline,
)

ROOT = repo_root()


def throwaway_notebook(path, body="assert x < 5, f'x = {x} is too big'"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x: int = 1\nlabel: str = 'a'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# throwaway"),
        params,
        nbformat.v4.new_code_cell("y = x * 2\nprint(label, y)"),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell("print('done')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_repo_root_is_the_checkout():
    assert (ROOT / "pyproject.toml").is_file()
    assert (ROOT / "notebooks" / "01_dataset_sampling.ipynb").is_file()
    assert (ROOT / "lagnb" / "pipeline.py").is_file()


def test_repo_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAGNB_ROOT", str(tmp_path))
    assert repo_root() == tmp_path.resolve()


def test_parse_value():
    assert parse_value("3") == 3
    assert parse_value("0.5") == 0.5
    assert parse_value("True") is True
    assert parse_value("None") is None
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("uniform") == "uniform"
    assert parse_value("runs/x") == "runs/x"


def test_profiles_match_the_notebooks_parameters():
    assert "tiny" in PROFILES
    # every numbered notebook of the repository is part of the pipeline, in order
    assert sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) == NOTEBOOKS
    for profile, notebooks in PROFILES.items():
        order = notebooks_in_order(profile)
        assert order == sorted(order)
        for name, params in notebooks.items():
            path = ROOT / "notebooks" / name
            if path.is_file():
                declared = notebook_parameters(path)
                assert set(params) <= set(declared), (profile, name, set(params) - set(declared))
    with pytest.raises(LagnbError, match="unknown profile 'huge'"):
        notebooks_in_order("huge")


def test_committed_notebook_01_has_the_tiny_parameters():
    declared = notebook_parameters("01_dataset_sampling.ipynb")
    for name, value in PROFILES["tiny"]["01_dataset_sampling.ipynb"].items():
        assert parse_value(declared[name]["default"]) == value, name
    nb = nbformat.read(str(ROOT / "notebooks" / "01_dataset_sampling.ipynb"), as_version=4)
    assert "widgets" not in nb.metadata
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert all(c.get("outputs") is not None for c in nb.cells if c.cell_type == "code")
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def test_run_notebook_with_parameters(tmp_path):
    nb = throwaway_notebook(tmp_path / "t.ipynb")
    out = run_notebook(nb, {"x": 3, "label": "b"}, run_dir=tmp_path / "run", progress=False)
    assert out == (tmp_path / "run" / "t.ipynb").resolve()
    done = nbformat.read(str(out), as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in done.cells)
    texts = [o.get("text", "") for c in done.cells for o in c.get("outputs", [])]
    assert "b 6\n" in texts and "done\n" in texts
    assert "widgets" not in done.metadata


def test_failing_cell_is_named(tmp_path):
    nb = throwaway_notebook(tmp_path / "fail.ipynb")
    out = tmp_path / "out" / "fail.ipynb"
    with pytest.raises(NotebookError) as info:
        run_notebook(nb, {"x": 10}, output=out, progress=False)
    message = str(info.value)
    assert "fail.ipynb failed in cell 3" in message  # counted as in the notebook as written
    assert "assert x < 5" in message
    assert "AssertionError: x = 10 is too big" in message
    assert out.is_file()  # the executed notebook, with the error, is kept
    with pytest.raises(LagnbError, match=r"unknown parameter.*z.*x, label"):
        run_notebook(nb, {"z": 1}, output=out, progress=False)
    with pytest.raises(LagnbError, match="no such notebook"):
        run_notebook(tmp_path / "missing.ipynb")


def test_cli_run_exit_code_and_message(tmp_path, capsys):
    nb = throwaway_notebook(tmp_path / "c.ipynb")
    out = tmp_path / "c-out.ipynb"
    code = cli.main(["run", str(nb), "-p", "x", "7", "--out", str(out), "--no-progress"])
    assert code != 0
    err = capsys.readouterr().err
    assert "lagnb run: error: notebook c.ipynb failed in cell 3" in err
    assert "AssertionError" in err


def test_pipeline_runs_notebooks_in_order_and_skips_missing(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    throwaway_notebook(root / "notebooks" / "01_first.ipynb", body="print('first', x)")
    throwaway_notebook(root / "notebooks" / "03_third.ipynb", body="print('third', x)")
    monkeypatch.setenv("LAGNB_ROOT", str(root))
    monkeypatch.setattr(pipeline, "NOTEBOOKS", ["01_first.ipynb", "02_second.ipynb"])
    monkeypatch.setattr(
        pipeline,
        "PROFILES",
        {"tiny": {"01_first.ipynb": {"x": 2}, "03_third.ipynb": {"x": 4}, "02_second.ipynb": {}}},
    )
    messages = []
    done = run_pipeline(
        "tiny", overrides={"label": "z", "other": 1}, progress=False, log=messages.append
    )
    assert [p.name for p in done] == ["01_first.ipynb", "03_third.ipynb"]
    assert all(p.parent == root / "runs" / "tiny" for p in done)
    assert any("skip 02_second.ipynb" in m for m in messages)
    third = nbformat.read(str(done[1]), as_version=4)
    texts = [o.get("text", "") for c in third.cells for o in c.get("outputs", [])]
    assert "third 4\n" in texts and "z 8\n" in texts
    only = run_pipeline("tiny", only=["03"], progress=False, log=messages.append)
    assert [p.name for p in only] == ["03_third.ipynb"]


@pytest.mark.slow
def test_notebook_01_outputs_pass_nbval():
    """The committed outputs of notebook 01 are reproduced (nbval, shared sanitizers)."""
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
        "--nbval", str(ROOT / "notebooks" / "01_dataset_sampling.ipynb"),
        "--nbval-sanitize-with", str(ROOT / "notebooks" / "nbval_sanitize.cfg"),
    ]  # fmt: skip
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_notebook_01_parameters_are_json_friendly():
    params = PROFILES["tiny"]["01_dataset_sampling.ipynb"]
    assert json.loads(json.dumps(params)) == params


def test_dataset_params_are_sampling_parameters():
    for profile in PROFILES:
        params = dataset_params(profile)
        assert "out_dir" not in params and "compare_uniform" not in params
        SampleParams.from_kwargs(**params)  # every key is a sampling parameter
    assert dataset_params("tiny")["max_target_len"] <= 512  # short targets for a tiny model
    with pytest.raises(LagnbError, match="unknown profile"):
        dataset_params("nope")
