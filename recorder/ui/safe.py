"""Recorded text on its way to a page. Jinja escapes HTML; this also makes every control visible: C0/C1 controls
and the bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069), which could otherwise reorder what
a reader sees (see :func:`recorder.render.display.clean`). Data handed to the page's script goes through
:func:`clean_data` and :func:`script_json` (no ``<``, ``>`` or ``&`` in the embedded JSON)."""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import Markup

from recorder.render.display import clean

_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(value: Any) -> Any:
    """Jinja's ``finalize``: every string printed into a template is cleaned (then autoescaped)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return clean(value, terminal=True)
    return value


def clean_data(value: Any) -> Any:
    """Every string in a JSON-ready structure cleaned as :func:`shown` does (keys are left alone)."""
    if isinstance(value, str):
        return clean(value, terminal=True)
    if isinstance(value, dict):
        return {k: clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


def script_json(data: Any) -> str:
    """JSON text safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
