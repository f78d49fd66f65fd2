import json

from lagnb.cli import main

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


def test_lagrangian_json_schema(capsys):
    assert main(["lagrangian", "--json", HIGGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"fields", "terms"}
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
    assert capsys.readouterr().out.startswith(r"\mathcal{L} =")
    assert main(["lagrangian", HIGGS]) == 0
    assert "quartic" in capsys.readouterr().out


def test_bad_input_is_one_clear_line(capsys):
    assert main(["lagrangian", "FIELD SPIN 0 SU3 4"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "lagnb lagrangian: error: field 1: unknown SU(3) representation 4; "
        "expected one of 1, 3, -3 (3̄), 6, -6 (6̄), 8"
    ]


def test_engine_commands_do_not_import_torch():
    """The engine's commands start fast: torch is imported only by the model's commands."""
    import subprocess
    import sys

    code = (
        "import sys; from lagnb.cli import main; "
        "main(['lagrangian', '--tokens', 'FIELD SPIN 0']); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
