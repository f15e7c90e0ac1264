"""JSON that strict parsers accept: NaN and infinities become ``null``."""

from __future__ import annotations

import math
from typing import Any


def json_safe(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, ±inf) as ``None``, through dicts, lists and tuples."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    return data
