"""The README's set-up promises: two commands, and CI runs exactly the README's test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Set-up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_two_setup_commands_cpu_torch_first():
    main_job, tests = setup_commands()
    for cmd in (main_job, tests):
        assert cmd.index("pip install torch==2.13.0") < cmd.index("pip install -e")
    assert main_job.endswith("lagnb pipeline --profile tiny")


def test_ci_runs_the_readme_test_command():
    _, tests = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert tests.endswith(ci), (tests, ci)
