"""The README's commands work in the setup the README itself creates."""

from __future__ import annotations

import re

from django.conf import settings

README = (settings.BASE_DIR / "README.md").read_text()


def test_every_manage_py_command_in_the_readme_runs_with_the_virtualenvs_python() -> None:
    commands = re.findall(r"([^\s(`]*)\s+manage\.py\s+[a-z_]+", README)
    assert commands, "the README shows no manage.py command any more"
    assert set(commands) == {".venv/bin/python"}, "`python manage.py` fails outside the virtualenv make creates"


def test_the_first_code_block_holds_the_run_and_test_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "run"], ["make", "test"]]


def test_every_error_code_the_readme_lists_for_input_is_one_the_api_uses() -> None:
    from evotodo.exceptions import SHAPE_CODES

    for code in SHAPE_CODES:
        assert f"`{code}`" in README
