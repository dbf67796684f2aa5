"""float32 layers: the numerical comparison on a float64 twin, and float32-vs-float64 agreement."""

from __future__ import annotations

import copy
import types
from typing import Any

import numpy as np

from .. import protocol
from .core import Check
from .report import GradcheckResult
from .state import LayerState


def float64_twin(layer: Any) -> Any:
    """A deep copy of layer with every float32 (or float16) array in its object graph cast to float64.

    Arrays shared between attributes (a layer's `W` and `params["W"]`) stay shared in the copy.
    """
    twin = copy.deepcopy(layer)
    cast: dict[int, np.ndarray] = {}
    seen: set[int] = set()

    def convert(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind == "f" and obj.dtype.itemsize < 8:
                if id(obj) not in cast:
                    cast[id(obj)] = obj.astype(np.float64)
                return cast[id(obj)]
            return obj
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type, types.ModuleType, types.FunctionType)):
            return obj
        seen.add(id(obj))
        if isinstance(obj, dict):
            for k in list(obj):
                obj[k] = convert(obj[k])
        elif isinstance(obj, list):
            obj[:] = [convert(o) for o in obj]
        elif type(obj) is tuple:
            return tuple(convert(o) for o in obj)
        elif hasattr(obj, "__dict__"):
            for k, v in list(vars(obj).items()):
                vars(obj)[k] = convert(v)
        return obj

    return convert(twin)


def promoted_check(layer: Any, arrays: list[np.ndarray], check32: Check, options: dict[str, Any]) -> GradcheckResult | None:
    """The numerical comparison on a float64 twin of a float32 layer (None if it cannot run), plus agreement."""
    try:
        twin = float64_twin(layer)  # made after the layer's state was restored: its random sources as found
        arrays64 = [a.astype(np.float64) if a.dtype.kind == "f" else a.copy() for a in arrays]
        params = dict(protocol.params(twin))
        state = LayerState(twin, {id(p) for p in params.values()})
        state.unlock()  # a throwaway copy: only its randomness needs replaying
        check64 = Check(twin, arrays64, params, state, hygiene=False, **options)
        if check64.dtype != "float64":
            return None
        result = check64.run()
    except Exception:  # a layer that cannot be copied or run in float64: the caller checks in float32
        return None
    g32, g64 = check32.first, check64.first
    bad = []
    for k, g in g32.items():
        ref = g64.get(k)
        if g is None or ref is None or np.shape(g) != np.shape(ref):
            continue
        scale = np.max(np.abs(ref), initial=0.0)
        if not np.max(np.abs(g.astype(np.float64) - ref), initial=0.0) <= 1e-3 * scale + 1e-6:
            bad.append(k)
    if bad:
        check32.fail("float32 vs float64", bad, "the float32 gradients differ from the float64 copy's by more than 1e-3 of their scale")
    return result
