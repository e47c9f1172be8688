"""conf/base.toml, written from the settings' own defaults and descriptions so the two cannot drift.

``python -m recsys.base_toml`` rewrites conf/base.toml after a change to recsys/settings.py; a test checks that
the file on disk is what this module writes.
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
from typing import Any

from pydantic import BaseModel

from recsys.settings import DEFAULT_CONF_DIR, Settings

WIDTH = 110
HEADER = """\
# Base settings for every job and the service. Layers above this one, lowest first:
#   conf/<RECSYS_ENV>.toml  <  RECSYS__SECTION__KEY environment variables  <  --set section.key=value
# Written by `.venv/bin/python -m recsys.base_toml` from recsys/settings.py, whose defaults and descriptions
# these are; edit them there (a test checks that this file is what they write).
"""


def _comment(text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH - 2, initial_indent="# ", subsequent_indent="# ")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for every character json escapes
    return repr(value)


def render() -> str:
    """The text of conf/base.toml: each section's docstring, then each key's description above it."""
    defaults = Settings().model_dump(mode="json")
    lines = [HEADER.rstrip("\n")]
    for section, field in Settings.model_fields.items():
        model: type[BaseModel] = field.annotation  # type: ignore[assignment]
        lines.append("")
        doc = inspect.getdoc(model)
        if doc and model.__doc__:  # its own docstring, not the Section base's
            lines += _comment(doc)
        lines.append(f"[{section}]")
        for key, info in model.model_fields.items():
            if info.description:
                lines += _comment(info.description)
            lines.append(f"{key} = {_value(defaults[section][key])}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = DEFAULT_CONF_DIR / "base.toml"
    target.write_text(render())
    print(f"wrote {target}", file=sys.stderr)
