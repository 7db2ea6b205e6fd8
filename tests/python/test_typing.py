"""The typed API stays typed (issue 12, item 4): mypy --strict, with the project's
[tool.mypy] configuration, rejects each mistake of tests/typing/bad_calls.py with the expected
message (lines marked `# E: <text>`) and nothing else there, and accepts
tests/typing/good_calls.py, whose assert_type calls pin the inferred types (WorkflowHandle[R]
and its result()). If the package lost its annotations (no py.typed, a decorator typed Any),
the mistakes would pass unnoticed and the first test fails. tests/run.sh runs mypy over the
package and the examples too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

TYPING = ROOT / "tests" / "typing"
MARK = re.compile(r"\S  # E: (.+?)\s*$")  # a mark after code, not in the docstring
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")


def mypy(path: Path) -> tuple[int, str]:
    """Run mypy (the [tool.mypy] settings of pyproject.toml) on one file: (exit status, output)."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                           str(ROOT / "pyproject.toml"), "--no-error-summary",
                           "--no-pretty", str(path.relative_to(ROOT))],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def expected_errors(path: Path) -> dict[int, str]:
    """{line: expected text} from the `# E: text` marks of a file."""
    marks = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        found = MARK.search(line)
        if found:
            marks[number] = found.group(1)
    return marks


def test_mypy_rejects_each_mistake_with_its_message_and_nothing_else():
    """Every marked line gets an error containing its text; no unmarked line gets one."""
    path = TYPING / "bad_calls.py"
    expected = expected_errors(path)
    assert len(expected) >= 15
    status, out = mypy(path)
    assert status == 1, out
    errors: dict[int, list[str]] = {}
    for line in out.splitlines():
        match = ERROR.match(line)
        if match:
            assert match["path"].endswith("bad_calls.py"), line
            errors.setdefault(int(match["line"]), []).append(match["message"])
    missing = {n: text for n, text in expected.items()
               if not any(text in message for message in errors.get(n, []))}
    unexpected = {n: messages for n, messages in errors.items() if n not in expected}
    assert not missing, f"mypy did not report these mistakes: {missing}\n{out}"
    assert not unexpected, f"mypy reported errors on unmarked lines: {unexpected}"


def test_mypy_accepts_the_correct_calls_and_infers_their_types():
    """good_calls.py type-checks clean under --strict, its assert_type calls included."""
    status, out = mypy(TYPING / "good_calls.py")
    assert status == 0, out


def test_the_package_ships_its_py_typed_marker():
    """PEP 561: py.typed is in the package and declared as package data (so in the wheel)."""
    assert (ROOT / "python_client" / "durable" / "py.typed").is_file()
    assert 'durable = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()
