"""`.env.example` documents every variable that settings.py reads."""

from __future__ import annotations

import re

from django.conf import settings


def test_every_environment_variable_is_in_env_example() -> None:
    source = (settings.BASE_DIR / "evotodo" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list|rate)\("([A-Z_]+)"', source))
    gunicorn = (settings.BASE_DIR / "gunicorn.conf.py").read_text()
    read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', gunicorn))
    documented = set(re.findall(r"^([A-Z_]+)=", (settings.BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    assert read, "settings.py reads no variables? the pattern no longer matches"
    assert read - documented == set()
    assert documented - read == set()
