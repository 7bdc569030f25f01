"""The contract every method implements: a typed config (ranges, help, live/restart), step(), snapshot()."""
from __future__ import annotations

import copy
import dataclasses
import math
import weakref
from typing import Any, ClassVar

import numpy as np
import torch

from otviz.core.devices import resolve_device
from otviz.methods.params import MethodInfo, ParamSpec, param, param_specs  # noqa: F401  (re-exported)
from otviz.methods.snapshot import EXPENSIVE, PER_FRAME, Snapshot as SnapshotBase


# ----------------------------------------------------------------------------- errors

class Diverged(RuntimeError):
    """A step produced NaN/Inf; the method has been restored to its last good state."""


# ----------------------------------------------------------------------------- methods

class Method:
    """One training method: builds its data and model from a config, then steps.

    Subclasses are declared `class XMethod(Method, info=INFO)`: `name`, `title`, `Config` and `metrics`
    come from the method's torch-free MethodInfo, so the window and the training side read one
    definition. They name their snapshot class (`Snapshot`, a dataclass declared in the method's card, see
    otviz.methods.snapshot) and implement `_build`, `_step`, `_snapshot`, `_state`, `_load_state`;
    optionally `_on_live_change`, `_check_config` and `edit`. Snapshot fields too costly for every frame
    are marked `expensive()` and computed by `_compute_fields`, from what `_field_state` /
    `_load_field_state` carry. Nothing here knows about Qt: the GUI and the CLI drive the same objects.
    """

    info: ClassVar[MethodInfo]
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    Config: ClassVar[type]
    metrics: ClassVar[tuple[str, ...]] = ("loss",)
    checkpoint_every: ClassVar[int] = 1   # how often the last good state is kept for NaN recovery
    # What snapshot() returns: the method's dataclass of plain data, the contract with its views.
    Snapshot: ClassVar[type[SnapshotBase]] = SnapshotBase
    # The two below are read from the marks on Snapshot's fields (in __init_subclass__): the split is
    # declared once, where the window, which has snapshots but not the method, can read it too.
    # Snapshot fields too expensive for every frame (networks over a grid, model fits), marked
    # `expensive()`. Another instance of the same class, config and seed computes them from
    # `field_state()` (see compute_fields).
    fields: ClassVar[tuple[str, ...]] = ()
    # Snapshot fields every frame needs whose cost still matters beside a step (a network evaluated at
    # the shown points), marked `per_frame()`. Computed from `frame_state()`, so the worker can compute
    # them on an instance of its own, off the training thread, at every frame (see compute_frame_fields).
    frame_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, info: MethodInfo | None = None, **kw: Any):
        super().__init_subclass__(**kw)
        if info is not None:
            cls.info = info
            cls.name, cls.title, cls.Config, cls.metrics = info.name, info.title, info.Config, info.metrics
        cls.fields, cls.frame_fields = cls.Snapshot.names(EXPENSIVE), cls.Snapshot.names(PER_FRAME)

    def __init__(self, config: Any = None, *, seed: int = 0, device: str = "cpu"):
        self.config = self.renamed(config if config is not None else self.Config())
        self._check_config(self.config)
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.step_count = 0
        self.reset()

    # -- parameters ---------------------------------------------------------
    @classmethod
    def specs(cls) -> list[ParamSpec]:
        return cls.info.specs()

    @classmethod
    def spec(cls, name: str) -> ParamSpec:
        return cls.info.spec(name)

    @classmethod
    def renamed(cls, config: Any) -> Any:
        """`config` with former names of choices (an old dataset name) replaced by the current ones: a
        config built in code or read from an older session file says the same as one typed today."""
        new = {s.name: s.renamed(getattr(config, s.name)) for s in cls.specs() if s.aliases}
        new = {k: v for k, v in new.items() if v != getattr(config, k)}
        return dataclasses.replace(config, **new) if new else config

    def validate(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Typed copies of `changes`, or ValueError naming the first refused value and why."""
        typed = {k: self.spec(k).coerce(v) for k, v in changes.items()}
        self._check_config(dataclasses.replace(self.config, **typed))
        return typed

    def update(self, changes: dict[str, Any]) -> bool:
        """Apply changes: live ones between steps, restart ones by rebuilding. Returns True on reset."""
        typed = self.validate(changes)
        typed = {k: v for k, v in typed.items() if getattr(self.config, k) != v}
        if not typed:
            return False
        self.config = dataclasses.replace(self.config, **typed)
        if any(not self.spec(k).live for k in typed):
            self.reset()
            return True
        self._on_live_change(set(typed))
        return False

    def set_device(self, device: str) -> None:
        """Move the run to another device, keeping model and optimiser state."""
        dev = resolve_device(device)
        state = self._state()
        self.device = dev
        self._build()
        self._load_state(state)
        self._good = self.checkpoint()

    # -- running ------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.seed = int(seed)
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)       # CPU generator: same draws on any device
        self.rng = np.random.default_rng(self.seed)
        self.step_count = 0
        self._build()
        self._good = self.checkpoint()

    def step(self) -> dict[str, float]:
        """One training step; returns the metrics. Raises Diverged (state restored) on NaN/Inf."""
        try:
            out = self._step()
        except Exception as e:
            # a step that fails half-way must not leave a half-updated model behind
            bad = self._nonfinite_state()
            self.restore(self._good)
            if bad or "nan" in str(e).lower() or "inf" in str(e).lower():
                raise Diverged(f"{self.title}: {', '.join(bad) or 'a value'} became NaN/Inf at step "
                               f"{self.step_count + 1} ({e}); paused at the last good state "
                               f"(step {self.step_count}). Lower the learning rate or reset.") from e
            raise
        metrics = {k: float(v) for k, v in out.items()}
        bad = [k for k, v in metrics.items() if not math.isfinite(v)] + self._nonfinite_state()
        if bad:
            self.restore(self._good)
            raise Diverged(f"{self.title}: {', '.join(bad)} became NaN/Inf at step {self.step_count + 1}; "
                           f"paused at the last good state (step {self.step_count}). "
                           "Lower the learning rate or reset.")
        self.step_count += 1
        if self.step_count % self.checkpoint_every == 0:
            self._good = self.checkpoint()
        return metrics

    def snapshot(self, fields: bool = True, frame_fields: bool = True) -> SnapshotBase:
        """A `Snapshot` of plain data for the views (numpy arrays and numbers, never live tensors).
        fields=False leaves the `fields` None, so a frame costs little while training; frame_fields=False
        leaves the `frame_fields` None, for whoever computes them elsewhere. With both (the CLI,
        recordings) it is everything the views draw."""
        snap = self._snapshot()
        if type(snap) is not self.Snapshot:
            raise TypeError(f"{type(self).__name__}._snapshot() gave a {type(snap).__name__}, "
                            f"not its Snapshot ({self.Snapshot.__name__})")
        more: dict[str, Any] = {"step": self.step_count}
        if frame_fields:
            more.update(self.compute_frame_fields())
        if fields:
            more.update(self.compute_fields())
        return snap.replace(**more)

    # -- expensive fields, computable by another instance ------------------------
    def compute_fields(self) -> dict[str, Any]:
        """The `fields` for the current state, and `fields_step`: the step they show (by name, to merge
        into a snapshot with its `replace`)."""
        out = self._compute_fields()
        out["fields_step"] = self.step_count
        return out

    def compute_frame_fields(self) -> dict[str, Any]:
        """The `frame_fields` for the current state (or for the state load_frame_state gave), by name."""
        return self._compute_frame_fields()

    def field_state(self) -> dict[str, Any]:
        """What another instance (same class, config and seed, never trained) needs to compute the same
        fields: plain numpy arrays and numbers, no optimiser state, no data rebuilt from config and seed."""
        return {"step": self.step_count, **self._field_state()}

    def load_field_state(self, state: dict[str, Any]) -> None:
        """Make compute_fields() give what the instance `state` came from would give."""
        self.step_count = int(state["step"])
        self._load_field_state(state)

    def frame_state(self) -> dict[str, Any]:
        """What another instance needs to compute the same `frame_fields` (sent at every frame, so
        a method whose frame fields need less than its fields says so in _frame_state)."""
        return {"step": self.step_count, **self._frame_state()}

    def load_frame_state(self, state: dict[str, Any]) -> None:
        """Make compute_frame_fields() give what the instance `state` came from would give."""
        self.step_count = int(state["step"])
        self._load_frame_state(state)

    def edit(self, action: str, payload: Any) -> None:
        """A data edit from the views (a dragged point, a drawn cloud). Methods that accept them override."""
        raise ValueError(f"{self.title} does not accept the edit {action!r}")

    # -- state --------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return copy.deepcopy(self._state())

    def restore(self, state: dict[str, Any]) -> None:
        self._load_state(copy.deepcopy(state))

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: config, step, RNG states and the method's own state."""
        return {"method": self.name, "config": dataclasses.asdict(self.config), "seed": self.seed,
                "step": self.step_count, "gen": self.gen.get_state(), "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "state": self.checkpoint()}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("method") != self.name:
            raise ValueError(f"this state is for {d.get('method')!r}, not {self.name!r}")
        self.config = self.renamed(self.Config(**d["config"]))
        self.seed = int(d["seed"])
        self.reset()
        self.gen.set_state(d["gen"])
        self.rng.bit_generator.state = d["rng"]
        torch.set_rng_state(d["torch_rng"])
        self.restore(d["state"])
        self.step_count = int(d["step"])
        self._good = self.checkpoint()

    def _nonfinite_state(self) -> list[str]:
        """Names of tensors in the state that hold NaN/Inf (parameters going bad before the loss does)."""
        named: list[tuple[str, torch.Tensor]] = []

        def walk(prefix: str, obj: Any) -> None:
            if isinstance(obj, torch.Tensor):
                if obj.is_floating_point():
                    named.append((prefix, obj))
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)

        walk("", self._state())
        # Run after every step, so only what changed is checked: a tensor already found finite and not
        # modified since (same object, same version counter) is skipped -- the datasets in the state are
        # large and never change, and scanning them again each step would weigh on a small model's step.
        # The rest is checked at once per device, names only on failure.
        seen = getattr(self, "_finite_seen", {})
        fresh = [(n, t) for n, t in named
                 if not ((e := seen.get(id(t))) is not None and e[0]() is t and e[1] == t._version)]
        by_device: dict[torch.device, list[torch.Tensor]] = {}
        for _, t in fresh:
            by_device.setdefault(t.device, []).append(t.detach().reshape(-1))
        if all(bool(torch.isfinite(torch.cat(ts)).all()) for ts in by_device.values()):
            self._finite_seen = {id(t): (weakref.ref(t), t._version) for _, t in named}
            return []
        return [name for name, t in fresh if not torch.isfinite(t).all()][:3]

    # -- to implement -------------------------------------------------------
    def _check_config(self, cfg: Any) -> None:
        """Raise ValueError for combinations a single field's range cannot express."""

    def _build(self) -> None:
        raise NotImplementedError

    def _step(self) -> dict[str, float]:
        raise NotImplementedError

    def _snapshot(self) -> SnapshotBase:
        """An instance of `Snapshot` with its cheap fields (`fields` and `frame_fields` left None)."""
        raise NotImplementedError

    def _compute_fields(self) -> dict[str, Any]:
        """The `fields` by name (methods that declare some override this and the two below)."""
        return {}

    def _compute_frame_fields(self) -> dict[str, Any]:
        """The `frame_fields` by name (methods that declare some override this)."""
        return {}

    def _field_state(self) -> dict[str, Any]:
        return {}

    def _load_field_state(self, state: dict[str, Any]) -> None:
        """Take what _field_state() gave (on an instance of the same class, config and seed)."""

    def _frame_state(self) -> dict[str, Any]:
        return self._field_state()

    def _load_frame_state(self, state: dict[str, Any]) -> None:
        self._load_field_state(state)

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _on_live_change(self, keys: set[str]) -> None:
        """React to live changes already written into self.config (e.g. set an optimiser's lr)."""


def module_weights(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A network's parameters and buffers as numpy copies (copies: training goes on changing the
    tensors in place while the arrays are on their way to another process)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module_weights(module: torch.nn.Module, weights: dict[str, np.ndarray]) -> None:
    """The inverse of module_weights, onto the module's own device and dtypes."""
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
