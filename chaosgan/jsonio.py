"""Strict JSON: what chaosgan writes parses with any JSON reader (RFC 8259), never ``NaN``.

Python's :func:`json.dumps` writes ``NaN``, ``Infinity`` and ``-Infinity`` by default, which are
not JSON and break ``jq``, JavaScript and strict parsers. :func:`strict` replaces every non-finite
float (numpy scalars and arrays included) by ``null`` and records why, by JSON-pointer path
(RFC 6901), under the top-level key ``"nulls"``: ``{"/metrics/x/generated": "nan"}``, so a null
is never mistaken for a missing value. :func:`dumps` then serialises with ``allow_nan=False``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

NULLS_KEY = "nulls"


def _reason(value: float) -> str:
    if math.isnan(value):
        return "nan (not a number: undefined for these data)"
    return "+inf (infinite)" if value > 0 else "-inf (infinite)"


def _clean(obj: Any, pointer: str, nulls: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v, f"{pointer}/{_escape(str(k))}", nulls) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{pointer}/{i}", nulls) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist(), pointer, nulls)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if math.isfinite(value):
            return value
        nulls[pointer or "/"] = _reason(value)
        return None
    return obj


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def strict(obj: Any) -> Any:
    """``obj`` with non-finite floats as ``None``; a dict gains ``"nulls"`` saying where and why.

    Non-dict values are returned cleaned without the record (there is nowhere to put it).
    """
    nulls: dict[str, str] = {}
    clean = _clean(obj, "", nulls)
    if nulls and isinstance(clean, dict):
        clean[NULLS_KEY] = {**clean.get(NULLS_KEY, {}), **nulls}
    return clean


def nonfinite(obj: Any) -> dict[str, str]:
    """JSON-pointer paths of the non-finite floats in ``obj``, with what each is."""
    nulls: dict[str, str] = {}
    _clean(obj, "", nulls)
    return nulls


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (see :func:`strict`); never emits NaN or Infinity."""
    return json.dumps(strict(obj), indent=indent, allow_nan=False)
