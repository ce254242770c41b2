"""One strictness for every ``restore()``: the given arrays must be exactly the expected ones.

A missing, extra, mis-shaped or mis-typed array raises ValueError naming the owner and the array.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def check_state_arrays(owner: str, expected: Mapping[str, np.ndarray], given: Mapping[str, object]) -> None:
    """Raise ValueError unless ``given`` has exactly the keys of ``expected``, each an ndarray of the same
    dtype and shape as its template in ``expected``. ``owner`` starts the message (e.g. ``"cochlea"``)."""
    if not isinstance(given, Mapping):
        raise ValueError(f"{owner}: state must be a mapping of arrays, got {type(given).__name__}")
    missing = [k for k in expected if k not in given]
    if missing:
        raise ValueError(f"{owner}: state has no array {missing[0]!r}")
    extra = sorted(str(k) for k in given if k not in expected)
    if extra:
        raise ValueError(f"{owner}: state has an unexpected array {extra[0]!r} (known: {', '.join(expected)})")
    for key, template in expected.items():
        value = given[key]
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{owner}: array {key!r} is {type(value).__name__}, not an ndarray")
        if value.dtype != template.dtype or value.shape != template.shape:
            raise ValueError(f"{owner}: array {key!r} is {value.dtype}{list(value.shape)}, "
                             f"this {owner} needs {template.dtype}{list(template.shape)}")
