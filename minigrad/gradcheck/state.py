"""Randomness and state: replay a layer's random draws on every forward, and leave the layer as it was found.

What is reachable from a layer: its attributes, the dicts, lists and tuples it holds, and the layers
among those (a Sequential's `layers`, a Graph's `nodes`), recursively. There gradcheck finds the
random sources (numpy.random.Generator, RandomState) and the arrays outside `params` (running
statistics, `buffers`, caches). numpy's global random state is a source too.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable

import numpy as np

from .. import protocol

_MISSING = object()
Source = tuple[str, Callable[[], Any], Callable[[Any], None]]


_RAW: list[Any] = [None, None]  # numpy's global bit generator, and a view of its MT19937 words


def _global_raw() -> Callable[[], Any] | None:
    """A cheap reading of numpy's global MT19937 words (key and pos) to see whether a forward drew from it."""
    try:
        bits = np.random.get_bit_generator()
        if _RAW[0] is not bits:  # the view is kept with the generator that owns its memory
            if type(bits).__name__ != "MT19937":
                return None
            address = bits.ctypes.state_address
            _RAW[:] = bits, np.ctypeslib.as_array((ctypes.c_uint32 * 625).from_address(address))
    except (AttributeError, TypeError, ValueError):  # numpy < 1.25: compare full states instead
        return None
    return _RAW[1].copy


def _global_sources() -> list[Source]:
    return [("numpy.random", np.random.get_state, np.random.set_state)]


def _generator_source(name: str, gen: Any) -> Source:
    if isinstance(gen, np.random.Generator):
        bits = gen.bit_generator
        return name, lambda: bits.state, lambda s: setattr(bits, "state", s)
    return name, gen.get_state, gen.set_state  # a legacy RandomState


def _equal(a: Any, b: Any) -> bool:
    """Deep equality of random states (dicts, tuples and arrays of ints)."""
    try:
        return bool(a == b)
    except ValueError:  # an array inside: compare part by part
        pass
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)




class LayerState:
    """A snapshot of everything a layer holds outside params, and of every random source it can draw from.

    `replay()` before each forward puts back the random sources that the first forward moved, so every
    forward draws the same numbers (one dropout mask for the whole check); `restore()` puts back the
    random sources, every array outside params, and every attribute, dict and list binding; `grads`
    dicts are left holding the latest backward's gradients.

    Copying every array a layer holds (caches of a whole batch) would cost a passing check more than
    its forwards, so the arrays are first made read-only instead: a layer that writes into one of them
    raises, and gradcheck then calls `upgrade()` (copy them, make them writeable again) and starts over.
    """

    def __init__(self, layer: Any, param_ids: set[int]) -> None:
        self.objects: list[tuple[Any, dict[str, Any], frozenset[str]]] = []
        self.containers: list[tuple[Any, Any]] = []
        self.arrays: list[np.ndarray] = []
        self.copies: list[np.ndarray] | None = None  # their contents, once upgrade() was needed
        self.sources: list[Source] = _global_sources()
        seen: set[int] = set(param_ids)  # params are restored by gradcheck itself, bit for bit
        self._walk(layer, "", seen, root=True)
        self.raw = _global_raw()
        self.raw_saved = None if self.raw is None else self.raw()
        # numpy's global state in full only if a forward draws from it (np.random.get_state is slow)
        self.saved = [None if i == 0 and self.raw is not None else get() for i, (_, get, _) in enumerate(self.sources)]
        self.moved: list[int] | None = None  # which sources forward draws from, known after the first forward
        self.locked = [a for a in self.arrays if a.flags.writeable]
        for a in self.locked:
            a.flags.writeable = False

    def _walk(self, obj: Any, path: str, seen: set[int], root: bool = False) -> None:
        if obj is None or isinstance(obj, (bool, int, float, str)) or id(obj) in seen:
            return
        if isinstance(obj, np.ndarray):
            seen.add(id(obj))
            self.arrays.append(obj)
        elif isinstance(obj, (np.random.Generator, np.random.RandomState)):
            seen.add(id(obj))
            self.sources.append(_generator_source(path or "rng", obj))
        elif isinstance(obj, dict):
            seen.add(id(obj))
            self.containers.append((obj, dict(obj)))
            for k, v in obj.items():
                self._walk(v, f"{path}.{k}" if path else str(k), seen)
        elif isinstance(obj, list):
            seen.add(id(obj))
            self.containers.append((obj, list(obj)))
            for i, v in enumerate(obj):
                self._walk(v, f"{path}.{i}" if path else str(i), seen)
        elif isinstance(obj, tuple):
            for i, v in enumerate(obj):
                self._walk(v, f"{path}.{i}" if path else str(i), seen)
        elif root or (protocol.is_layer(obj) and hasattr(obj, "__dict__")) or protocol.is_net(obj):
            seen.add(id(obj))
            attributes = getattr(obj, "__dict__", None)
            if isinstance(attributes, dict):
                # the latest backward's gradients, as after any backward, are not restored: a grads dict,
                # or the book's dW, db, ... attributes
                grads = attributes.get("grads")
                if isinstance(grads, dict):
                    seen.update((id(grads), *(id(g) for g in grads.values())))
                kept = frozenset("d" + k for k in protocol.params(obj) if "d" + k in attributes and "grads" not in attributes)
                seen.update(id(attributes[k]) for k in kept)
                self.objects.append((obj, {k: v for k, v in attributes.items() if k not in kept}, kept))
                for k, v in attributes.items():
                    if k not in kept:
                        self._walk(v, f"{path}.{k}" if path else k, seen)

    def replay(self) -> None:
        """Before a forward: the random sources forward draws from, back to their state at the start."""
        if self.moved is None:
            return
        for i in self.moved:
            self.sources[i][2](self.saved[i])

    def learn(self) -> None:
        """After the first forward: note which random sources it moved (only those are replayed, which is cheap)."""
        if self.moved is None:
            self.moved = [i for i in range(len(self.sources)) if self._moved(i)]
            if 0 in self.moved and self.saved[0] is None:
                # numpy's global state before the check: its MT19937 words as read, and the cached
                # Gaussian as now (it differs only if forward drew an odd count of legacy normals)
                now = np.random.get_state()
                self.saved[0] = (now[0], self.raw_saved[:624].copy(), int(self.raw_saved[624]), now[3], now[4])
            self.replay()

    def _moved(self, i: int) -> bool:
        if i == 0 and self.raw is not None:  # numpy's global state, read cheaply
            return not np.array_equal(self.raw(), self.raw_saved)
        return not _equal(self.sources[i][1](), self.saved[i])

    @property
    def random_names(self) -> list[str]:
        """The random sources the layer's forward draws from (known after the first forward)."""
        return [self.sources[i][0] for i in self.moved or []]

    def upgrade(self) -> None:
        """The layer writes into arrays it holds: copy them (untouched so far, being read-only) and unlock them."""
        self.unlock()
        self.copies = [a.copy() for a in self.arrays]
        self.moved = None

    def unlock(self) -> None:
        """Every array made read-only, writeable again (views after their bases)."""
        for _ in range(2):
            still = []
            for a in self.locked:
                try:
                    a.flags.writeable = True
                except ValueError:  # a view whose locked base comes later in the list
                    still.append(a)
            self.locked = still

    def restore(self, final: bool = False) -> None:
        """The layer as it was found: random sources, arrays outside params, attributes, dicts and lists."""
        for i, ((_, _, put), state) in enumerate(zip(self.sources, self.saved)):
            if state is None:  # numpy's global state, never drawn from by a forward
                if self._moved(i):
                    words = self.raw_saved
                    now = np.random.get_state()
                    put((now[0], words[:624].copy(), int(words[624]), now[3], now[4]))
            elif self.moved is None or i in self.moved or self._moved(i):
                put(state)
        for a, saved in zip(self.arrays, self.copies or ()):
            if a.flags.writeable and a.shape == saved.shape:
                a[...] = saved
        for obj, attributes, kept in self.objects:
            current = vars(obj)
            for k in [k for k in current if k not in attributes and k not in kept]:
                del current[k]
            for k, v in attributes.items():
                if current.get(k, _MISSING) is not v:
                    current[k] = v
        for container, items in self.containers:
            if isinstance(container, dict):
                container.clear()
                container.update(items)
            else:
                container[:] = items
        if final:
            self.unlock()
