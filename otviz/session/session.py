"""A run of one method: the method object, its history and the log of parameter changes.

The GUI's worker thread and the headless CLI both drive a Session, so they run the very same code.
"""
from __future__ import annotations

import copy
import numbers
import time
from typing import Any

from otviz.methods.base import Diverged, Method
from otviz.session.history import History
from otviz.session.timeline import Branch, Keyframe, Timeline


class Session:
    """A method, its history and its timeline (keyframes and branches: see fork and switch).

    A reset, and a change of a parameter that restarts the run, start the timeline over: the past they
    leave behind is of another run. A reset with the same seed starts the same run again (same data,
    same initial weights, same draws); only a new seed gives another."""

    def __init__(self, method: Method, timeline: Timeline | None = None):
        self.method = method
        self.history = History(method.metrics)
        self.last_metrics: dict[str, float] = {}
        self.error: str | None = None
        self.timeline = timeline if timeline is not None else Timeline()
        self.timeline.start(self)

    @property
    def step_count(self) -> int:
        return self.method.step_count

    def update(self, changes: dict[str, Any]) -> bool:
        """Apply validated parameter changes; mid-run live changes are marked in the history."""
        # copied first: Method.update may add derived changes to the dict, which a replay derives again
        logged = copy.deepcopy(dict(changes))
        config = self.method.config
        was_reset, _ = self._apply_update(changes)
        if was_reset:
            self.timeline.start(self)
        elif self.method.config is not config:
            self.timeline.mark_changed(self, ("set", logged))
        return was_reset

    def _apply_update(self, changes: dict[str, Any]) -> tuple[bool, str]:
        """update() without the timeline: (reset?, the change as the history marks it)."""
        before = {k: getattr(self.method.config, k) for k in changes if hasattr(self.method.config, k)}
        was_reset = self.method.update(changes)
        text = ""
        if was_reset:
            self.history.clear()
            self.last_metrics = {}
        else:
            text = ", ".join(f"{k}={_fmt(getattr(self.method.config, k))}" for k in changes
                             if before.get(k) != getattr(self.method.config, k))
            if text and self.step_count > 0:
                self.history.add_event(self.step_count, text)
        return was_reset, text

    def edit(self, action: str, payload: Any) -> None:
        """A data edit from the views (Method.edit), kept in the timeline so forks replay it."""
        logged = copy.deepcopy(payload)
        self.method.edit(action, payload)
        self.timeline.mark_changed(self, ("edit", (action, logged)))

    def reset(self, seed: int | None = None) -> None:
        """Start again from step 0: the same initialisation unless `seed` is a new one."""
        self.method.reset(seed)
        self.history.clear()
        self.last_metrics = {}
        self.error = None
        self.timeline.start(self)

    def step(self) -> dict[str, float]:
        """One step; on NaN/Inf the method is restored, `error` set, and Diverged re-raised."""
        t0 = time.perf_counter()
        m = self._step()
        self.timeline.record(self, time.perf_counter() - t0)
        return m

    def _step(self) -> dict[str, float]:
        try:
            m = self.method.step()
        except Diverged as e:
            self.error = str(e)
            raise
        self.last_metrics = m
        self.history.append(self.step_count, m)
        return m

    # -- timeline -------------------------------------------------------------------
    def fork(self, step: int, changes: dict[str, Any] | None = None) -> Branch:
        """Go back to `step` of the current branch and continue from there as a new branch, with
        `changes` applied: the newest keyframe at or before `step` is restored and the steps after it
        replayed (history rows appended again as they were). The branch left keeps its newest state and
        history (see switch). With no changes, the new branch repeats the old one's next steps bit for
        bit (on the CPU). ValueError, with the session as it was, if it cannot be done."""
        tl = self.timeline
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise ValueError(f"cannot go back to step {step!r}: a step is a whole number")
        step = int(step)
        first = tl.first_step()
        if not first <= step <= self.step_count:
            where = f"steps {first} to {self.step_count}" if first < self.step_count else f"step {first} only"
            raise ValueError(f"cannot go back to step {step}: this run's stored past holds {where}")
        changes = dict(changes or {})
        old = tl.branches[tl.current]
        tip = tl.capture(self, like=old.keyframes[-1] if old.keyframes else None)
        history = self.history.state_dict()
        base = None
        known = max(tl.branches)
        tl.set_tip(old, tip, history)
        try:
            if step < self.step_count:
                base = tl.keyframe_at(step)
                self._restore(base, history=None)
                self.history.truncate(base.step, base.metrics)
                self._replay(base.step, step, tl.changes_between(base.step, step))
            else:
                base = tip
            for k, v in changes.items():       # checked before the branch exists: no half-made fork
                spec = self.method.spec(k)
                if not spec.live and spec.coerce(v) != getattr(self.method.config, k):
                    raise ValueError(f"{k} cannot change in a fork: changing it restarts the run")
            self.method.validate(changes)
            new = tl.new_branch(self, old.id, step, f"from step {step}", base=base)
        except BaseException as e:
            for bid in [b for b in tl.branches if b > known]:
                tl.remove_branch(bid)
            self._restore(tip, history=history)
            tl.current = old.id
            tl.set_tip(old, None, None)
            if isinstance(e, Diverged):          # (a replay on another device may part from the original)
                raise ValueError(f"cannot go back to step {step}: replaying to it diverged ({e})") from None
            raise
        if changes:
            logged = copy.deepcopy(changes)
            config = self.method.config
            _, text = self._apply_update(changes)
            if self.method.config is not config:
                tl.mark_changed(self, ("set", logged))
            if text:
                new.label = f"{text} from step {step}"
        return new

    def switch(self, branch_id: int) -> None:
        """Make another branch current: this one keeps its newest state and history, the other's are
        restored (its views and its history as they were)."""
        tl = self.timeline
        if branch_id not in tl.branches:
            raise ValueError(f"there is no branch {branch_id!r}")
        if branch_id == tl.current:
            return
        old, new = tl.branches[tl.current], tl.branches[branch_id]
        tip = tl.capture(self, like=old.keyframes[-1] if old.keyframes else None)
        tl.set_tip(old, tip, self.history.state_dict())
        self._restore(new.tip, history=new.history)
        tl.current = new.id
        tl.set_tip(new, None, None)

    def branches(self) -> list[dict[str, Any]]:
        """The branches for a list: id, parent, fork_step, label, step (its newest), current, and, for
        those not current, history (History.state_dict(), for a faint curve; the current one's is
        `self.history`)."""
        tl = self.timeline
        return [{"id": b.id, "parent": b.parent, "fork_step": b.fork_step, "label": b.label,
                 "step": self.step_count if b.id == tl.current else b.tip.step, "current": b.id == tl.current,
                 "history": None if b.id == tl.current else b.history} for b in tl.branches.values()]

    def _restore(self, kf: Keyframe, history: dict | None) -> None:
        """The method as it was at keyframe `kf` (and the history, if given)."""
        self.method.load_state_dict(kf.state)
        self.last_metrics = dict(kf.metrics)
        self.error = None
        if history is not None:
            self.history.load_state_dict(history)

    def _replay(self, start: int, stop: int, changes: list[tuple[int, str, Any]]) -> None:
        """Steps start+1 .. stop again, with the changes logged at each of them made after it, as they
        were: the history gets the same rows and marks."""
        todo = list(changes)
        while self.step_count < stop:
            self._step()
            while todo and todo[0][0] <= self.step_count:
                _, kind, data = todo.pop(0)
                if kind == "set":
                    self._apply_update(copy.deepcopy(data))
                else:
                    action, payload = data
                    self.method.edit(action, copy.deepcopy(payload))

def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
