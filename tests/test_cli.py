import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lagnb.cli import main
from lagnb.errors import LagnbError

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


def test_lagrangian_json_schema(capsys):
    assert main(["lagrangian", "--json", HIGGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"schema", "schema_version", "conventions", "fields", "terms"}
    for term in out["terms"]:
        assert {
            "kind",
            "fields",
            "derivatives",
            "hermitian_conjugate_added",
            "tokens",
            "latex",
        } <= set(term)
    kinetic = next(t for t in out["terms"] if t["kind"] == "kinetic")
    assert kinetic["derivatives"] == 2
    assert kinetic["fields"] == [{"field": 0, "conjugate": True}, {"field": 0, "conjugate": False}]


def test_lagrangian_tokens_and_latex(capsys):
    assert main(["lagrangian", "--tokens", HIGGS]) == 0
    assert capsys.readouterr().out.startswith("+ FIELD SPIN 0 SU2 2 U1 1 ID0")
    assert main(["lagrangian", "--latex", HIGGS]) == 0
    assert capsys.readouterr().out.startswith("\\begin{aligned}\n\\mathcal{L} =")
    assert main(["lagrangian", HIGGS]) == 0
    assert "quartic" in capsys.readouterr().out


def test_bad_input_is_one_clear_line(capsys):
    assert main(["lagrangian", "FIELD SPIN 0 SU3 4"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "lagnb lagrangian: error: field 1: unknown SU(3) representation 4; "
        "expected one of 1, 3, -3 (3̄), 6, -6 (6̄), 8"
    ]


# -- bad input: one line on stderr, exit code 2, never a traceback ---------------------------------
ROOT = Path(__file__).resolve().parents[1]
H = "FIELD SPIN 0 SU2 2 U1 1"
# H H with an SU(2) δ: hypercharges 1 + 1 = 2 ≠ 0, not gauge invariant
HH = f"+ {H} ID0 {H} ID1 CONTRACTIONS SU2 ID0 ID1"
# H†H: the Higgs mass term, invariant by hand (Y: -1 + 1 = 0; 2̄ ⊗ 2 ∋ 1 via δ)
HDAG_H = (
    "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS SU2 ID0 ID1"
)


def one_error_line(capsys, command: str) -> str:
    """The single stderr line of a failed command, without its ``lagnb CMD: error:`` head."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    head = f"lagnb {command}: error: " if command else "lagnb: error: "
    assert lines[0].startswith(head), lines[0]
    return lines[0].removeprefix(head)


@pytest.mark.parametrize(
    ("argv", "command", "needle"),
    [
        ([], "", "required: COMMAND"),
        (["bogus"], "", "invalid choice: 'bogus'"),
        (["lagrangian"], "lagrangian", "required: fields"),
        (["generate", "--beams", "0", H], "generate", "--beams: must be at least 1, got 0"),
        (["complete", "--threads", "x", H], "complete", "--threads: expected an integer"),
        (["sample", "--out", "x", "--valid-fraction", "2"], "sample", "must be in [0, 1]"),
        (["sample", "--out", "x", "--n", "0"], "sample", "--n: must be at least 1"),
        (["sample", "--out", "x", "--n-fields", "2:a"], "sample", "bad weight in '2:a'"),
        (["check", H, "--bogus", HH], "check", "unrecognized arguments: --bogus ("),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, command, needle):
    assert main(argv) == 2
    msg = one_error_line(capsys, command)
    assert needle in msg
    assert msg.endswith(f"(see 'lagnb{' ' + command if command else ''} --help')")


@pytest.mark.parametrize("command", ["generate", "complete"])
@pytest.mark.parametrize("fields", ["", "[SOS] [EOS]"])
def test_empty_field_list_is_rejected_before_the_model_loads(capsys, command, fields):
    # it used to decode for ~70 s and exit 0 with garbage
    assert main([command, "--model", "/no/such/model", fields]) == 2
    assert one_error_line(capsys, command).startswith("empty field list")


def test_library_entry_points_reject_an_empty_field_list():
    from lagnb.apps.autocomplete import complete
    from lagnb.ml.generate import generate, generate_batch
    from lagnb.ml.model import load_bundle, shipped_model_path

    bundle = load_bundle(shipped_model_path())
    for call in (
        lambda: generate(bundle, ""),
        lambda: generate(bundle, "[SOS] [EOS]"),
        lambda: generate(bundle, []),
        lambda: generate_batch(bundle, [H, ""]),
        lambda: complete(bundle, ""),
        lambda: complete(bundle, []),
    ):
        with pytest.raises(LagnbError, match="empty"):
            call()


def test_truncated_model_weights_name_the_file(tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(ROOT / "lagnb" / "shipped" / "small-model", model)
    weights = model / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    assert main(["generate", "--model", str(model), H]) == 2
    assert str(weights) in one_error_line(capsys, "generate")


def test_corrupt_dataset_shard_names_the_file(tmp_path, capsys):
    data = tmp_path / "data"
    args = ["--out", str(data), "--n", "20", "--shard-size", "8", "--workers", "1"]
    assert main(["sample", *args, "--no-progress"]) == 0
    capsys.readouterr()
    shard = sorted((data / "train").glob("part-*.parquet"))[-1]
    shard.write_bytes(shard.read_bytes()[:100])
    assert main(["stats", str(data)]) == 2
    assert shard.name in one_error_line(capsys, "stats")


def test_sample_draws_the_numbers_of_fields_it_is_given(tmp_path, capsys):
    from lagnb.data.reader import load_frame

    data = tmp_path / "data"
    args = ["--out", str(data), "--n", "30", "--workers", "1", "--max-fields", "4"]
    assert main(["sample", *args, "--n-fields", "2:1,4:0", "--no-progress"]) == 0
    capsys.readouterr()
    assert set(load_frame(data, "train").n_fields) == {2}  # uniform over 1-4 without the flag
    bad = ["--out", str(tmp_path / "bad"), "--max-fields", "3", "--n-fields", "1:1,5:1"]
    assert main(["sample", *bad, "--no-progress"]) == 2
    assert "5 fields is outside min/max_fields" in one_error_line(capsys, "sample")


def test_missing_and_unreadable_files_name_the_path(tmp_path, capsys):
    missing = tmp_path / "terms.txt"
    assert main(["check", H, "--file", str(missing)]) == 2
    assert one_error_line(capsys, "check") == f"{missing}: No such file or directory"
    assert main(["check", H, "--file", str(tmp_path)]) == 2
    assert one_error_line(capsys, "check") == f"{tmp_path}: Is a directory"
    binary = tmp_path / "terms.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert main(["check", H, "--file", str(binary)]) == 2
    assert one_error_line(capsys, "check") == f"{binary}: not a UTF-8 text file"


def test_notebook_commands_reject_bad_input(tmp_path, capsys):
    fake = tmp_path / "fake.ipynb"
    fake.write_text("hello\n")
    assert main(["run", str(fake)]) == 2
    assert one_error_line(capsys, "run").startswith(f"{fake}: not a readable Jupyter notebook")
    # --only matching nothing used to run nothing and exit 0
    assert main(["pipeline", "--only", "99"]) == 2
    assert "matches none of the notebooks" in one_error_line(capsys, "pipeline")


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lagnb.physics.check.check_parsed", interrupted)
    assert main(["check", H, HH]) == 130
    assert capsys.readouterr().err.splitlines() == ["lagnb check: interrupted"]
    monkeypatch.setattr("lagnb.data.build.build_dataset", interrupted)
    assert main(["sample", "--out", "x"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "lagnb sample: interrupted (run the same command again to resume)"
    ]


def test_closed_stdout_ends_quietly():
    """``lagnb lagrangian … | head -1``: the reader is gone; no traceback, exit 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before the command writes anything: a certain broken pipe
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lagnb.cli", "lagrangian", "--tokens", HIGGS],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b""
    assert proc.returncode == 141


# -- help: fast (no torch) and plain text -----------------------------------------------------------
def test_help_is_plain_text(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out
    assert "check" in out and "lagrangian" in out


def test_help_and_engine_commands_do_not_import_torch():
    """--help (all but train's) and the engine's commands start fast: no torch, no transformers."""
    code = (
        "import sys, contextlib, io\n"
        "from lagnb.cli import main\n"
        "cmds = [['--help']] + [[c, '--help'] for c in ('lagrangian', 'check', 'generate', "
        "'evaluate', 'complete', 'sample', 'import-csv', 'stats', 'run', 'pipeline')]\n"
        f"cmds += [['check', {H!r}, {HH!r}], ['lagrangian', '--tokens', {H!r}]]\n"
        "for argv in cmds:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'})\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)


# -- lagnb check --------------------------------------------------------------------------------------
def test_check_verdicts_and_exit_codes(capsys):
    assert main(["check", H, HDAG_H]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"term 1: valid: {HDAG_H}\n  Valid:")
    assert main(["check", H, HDAG_H, HH, "FIELD SPIN 0"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == f"term 2: invalid: {HH}"
    assert lines[3] == "  Invalid: U(1) hypercharges add up to 2, not 0."
    assert lines[4].startswith("term 3: malformed:")
    assert "starts with '+' or '-'" in lines[5]
    assert lines[-1] == "3 term(s): 1 valid, 1 invalid, 1 malformed"


def test_check_json(capsys):
    # options may come between the field list and the terms
    assert main(["check", f"[SOS] {H} [EOS]", "--json", HH, HDAG_H]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False
    assert [f["tokens"] for f in out["fields"]] == [H]
    bad, good = out["terms"]
    assert bad["tokens"] == HH
    assert (bad["valid"], bad["status"], bad["engine_term"]) == (False, "invalid", None)
    assert bad["reasons"] == ["U(1) hypercharges add up to 2, not 0"]
    assert bad["explanation"] == "Invalid: U(1) hypercharges add up to 2, not 0."
    assert (good["valid"], good["status"], good["reasons"]) == (True, "valid", [])
    assert isinstance(good["engine_term"], int)


def test_check_reads_terms_from_a_file_or_stdin(tmp_path, monkeypatch, capsys):
    per_line = tmp_path / "terms.txt"
    per_line.write_text(f"{HH}\n{HDAG_H}\n")
    one_string = tmp_path / "lagrangian.txt"
    one_string.write_text(f"[SOS] {HH} {HDAG_H} [EOS]")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{HH}\n{HDAG_H}\n"))
    for source in (str(per_line), str(one_string), "-"):
        assert main(["check", "--json", H, "--file", source]) == 1
        terms = json.loads(capsys.readouterr().out)["terms"]
        assert [(t["tokens"], t["status"]) for t in terms] == [(HH, "invalid"), (HDAG_H, "valid")]


def test_check_bad_input_is_exit_2(tmp_path, capsys):
    assert main(["check", "", HH]) == 2
    assert one_error_line(capsys, "check").startswith("empty field list")
    assert main(["check", "FIELD SPIN 0 SU2 7", HH]) == 2
    assert "SU(2)" in one_error_line(capsys, "check")
    assert main(["check", H]) == 2
    assert one_error_line(capsys, "check").startswith("no terms given")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert main(["check", H, "--file", str(empty)]) == 2
    assert one_error_line(capsys, "check").startswith(f"{empty} holds no terms")


def test_readme_engine_examples_run(capsys):
    """The README's shell lines for the engine's commands work as written."""
    lines = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith(("lagnb lagrangian ", "lagnb check "))
    ]
    assert any(line.startswith("lagnb check ") for line in lines)
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        assert main(argv) == (1 if argv[0] == "check" else 0), line
        assert capsys.readouterr().err == ""
