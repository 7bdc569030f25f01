"""A run's past: full keyframes every few steps, branches forked from it, all within a memory budget."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otviz.session import sharing

if TYPE_CHECKING:
    from otviz.session.session import Session

DEFAULT_BUDGET = 100_000_000      # bytes of keyframes per run; the window keeps its light frames beside them
# Replaying from the newest keyframe must stay short enough for a fork to feel immediate: with no fixed
# interval, a keyframe is taken every REPLAY_S of measured step time, within these bounds (the lower one
# keeps the copying of state small beside the steps it covers).
REPLAY_S = 0.1
MIN_EVERY, MAX_EVERY = 5, 500
FIRST_EVERY = 20                  # until a step has been timed


@dataclass
class Keyframe:
    """The full state of a method at `step` (method.state_dict()), and the session's last metrics then.

    Arrays and tensors equal to the previous keyframe's are that keyframe's own objects (the data never
    change, most state does): `nbytes` counts only the bytes this keyframe added to what its
    predecessor holds. A keyframe's contents are never modified: restoring copies them."""
    step: int
    state: dict
    nbytes: int
    metrics: dict = field(default_factory=dict)


@dataclass
class Branch:
    """One line of the run. `keyframes` hold its steps from `fork_step` on (the steps before come from
    the parent). When it is not the current branch, `history` is its History.state_dict() (its whole
    past, the parent's steps included) and `tip` its newest state. `changes` logs every parameter
    change and data edit made on it as (step, "set", changes) or (step, "edit", (action, payload)):
    replaying them keeps a replay exact across a change whose keyframe was thinned away."""
    id: int
    parent: int | None
    fork_step: int
    label: str
    keyframes: list[Keyframe]
    history: dict | None = None
    tip: Keyframe | None = None
    changes: list[tuple[int, str, Any]] = field(default_factory=list)


class Timeline:
    """The keyframes and branches of one session.

    `keyframe_every`: steps between two keyframes, or None (the default) to choose them from the
    measured step time, so that replaying from the previous keyframe takes about REPLAY_S; a method
    class may fix its own with a `keyframe_every` class attribute. `budget_bytes` bounds the bytes of
    keyframes, tips, stored histories and logged edits: over it, every second keyframe of the older
    half of the branch holding the most keyframes is dropped until it fits (never a branch's first
    keyframe, never the newest, never step 0), so recent steps stay dense and old ones get sparse."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, keyframe_every: int | None = None):
        self.budget_bytes = int(budget_bytes)
        self.keyframe_every = keyframe_every
        self.branches: dict[int, Branch] = {}
        self.current = 0
        self._step_s: float | None = None        # running mean of a step's wall time
        self._fixed_every: int | None = None     # the method class's own interval, if it has one
        self._refs: dict[int, list] = {}         # id(leaf) -> [leaf, references, bytes]
        self._bytes = 0

    # -- the interval -----------------------------------------------------------
    @property
    def every(self) -> int:
        """Steps between two keyframes now."""
        fixed = self.keyframe_every or self._fixed_every
        if fixed:
            return max(1, int(fixed))
        if not self._step_s:
            return FIRST_EVERY
        return int(min(MAX_EVERY, max(MIN_EVERY, REPLAY_S / self._step_s)))

    # -- recording ----------------------------------------------------------------
    def start(self, session: Session) -> Branch:
        """Forget every branch and begin a new root at the session's present state."""
        self.branches.clear()
        self._refs.clear()
        self._bytes = 0
        self._fixed_every = getattr(type(session.method), "keyframe_every", None)
        root = Branch(0, None, session.step_count, f"seed {session.method.seed}", [])
        self.branches[0] = root
        self.current = 0
        self._add_keyframe(root, self.capture(session))
        return root

    def record(self, session: Session, seconds: float | None = None) -> None:
        """After each step (`seconds`: how long it took): a keyframe when one is due."""
        if seconds is not None and seconds > 0:
            self._step_s = seconds if self._step_s is None else 0.9 * self._step_s + 0.1 * seconds
        b = self.branches[self.current]
        newest = b.keyframes[-1] if b.keyframes else None
        if newest is None or session.step_count - newest.step >= self.every:
            self._add_keyframe(b, self.capture(session, like=newest))

    def mark_changed(self, session: Session, change: tuple[str, Any] | None = None) -> None:
        """After a parameter change or a data edit: log it and keep the state as it is now, so a replay
        between two keyframes never has to cross a change."""
        b = self.branches[self.current]
        if change is not None:
            b.changes.append((session.step_count, change[0], change[1]))
        newest = b.keyframes[-1] if b.keyframes else None
        kf = self.capture(session, like=newest)
        if newest is not None and newest.step == session.step_count:
            # several changes at one step (a dragged slider while paused): one keyframe, the last
            b.keyframes[-1] = kf
            self._hold(kf)
            self._release(newest)
            held = {id(x) for x in sharing.leaves(b.keyframes[-2].state)} if len(b.keyframes) > 1 else set()
            kf.nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(kf.state)) if id(x) not in held)
            self._bytes_check()
        else:
            self._add_keyframe(b, kf)

    def capture(self, session: Session, like: Keyframe | None = None) -> Keyframe:
        """The session's present state as a keyframe, sharing what did not change with `like`."""
        state = session.method.state_dict()
        if like is not None:
            state = sharing.share(state, like.state)
            old = {id(x) for x in sharing.leaves(like.state)}
            nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(state)) if id(x) not in old)
        else:
            nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(state)))
        return Keyframe(session.step_count, state, nbytes, dict(session.last_metrics))

    # -- looking back -----------------------------------------------------------------
    def lineage(self, branch_id: int | None = None) -> list[tuple[Branch, float]]:
        """(branch, end) from `branch_id` (default: the current) up to the root: each branch supplies the
        steps before `end` (a child's fork step; infinite for the first)."""
        out: list[tuple[Branch, float]] = []
        b = self.branches[self.current if branch_id is None else branch_id]
        end = math.inf
        while b is not None:
            out.append((b, end))
            end = b.fork_step
            b = self.branches.get(b.parent) if b.parent is not None else None
        return out

    def keyframe_at(self, step: int, branch_id: int | None = None) -> Keyframe | None:
        """The newest keyframe at or before `step` on the branch (its ancestors' for steps before its
        fork); None if none is stored that early."""
        for b, end in self.lineage(branch_id):
            if step >= end:
                continue
            best = None
            for kf in b.keyframes:
                if kf.step <= step:
                    best = kf
                else:
                    break
            if best is not None:
                return best
        return None

    def first_step(self, branch_id: int | None = None) -> int:
        """The earliest step a fork can go back to on the branch."""
        root = self.lineage(branch_id)[-1][0]
        return root.keyframes[0].step if root.keyframes else root.fork_step

    def changes_between(self, after: int, upto: int, branch_id: int | None = None) -> list[tuple[int, str, Any]]:
        """The logged changes made at steps after `after` and up to `upto` along the branch's lineage,
        in the order they were made."""
        out = []
        for b, end in self.lineage(branch_id):
            out += [c for c in b.changes if after < c[0] <= upto and c[0] < end]
        out.sort(key=lambda c: c[0])          # stable: changes at one step keep their order
        return out

    # -- branches -----------------------------------------------------------------------
    def new_branch(self, session: Session, parent: int, fork_step: int, label: str,
                   base: Keyframe | None = None) -> Branch:
        """A branch from `parent` at `fork_step`, starting at the session's present state (sharing what
        did not change with `base`), and made current."""
        bid = max(self.branches, default=-1) + 1
        b = Branch(bid, parent, int(fork_step), label, [])
        self.branches[bid] = b
        self.current = bid
        self._add_keyframe(b, self.capture(session, like=base))
        return b

    def set_tip(self, branch: Branch, tip: Keyframe | None, history: dict | None) -> None:
        """Keep (or, with None, let go of) a branch's newest state and history while it is not current."""
        if branch.tip is not None:
            self._release(branch.tip)
        branch.tip, branch.history = tip, history
        if tip is not None:
            self._hold(tip)
            self._bytes_check()

    def remove_branch(self, branch_id: int) -> None:
        b = self.branches.pop(branch_id)
        for kf in b.keyframes:
            self._release(kf)
        if b.tip is not None:
            self._release(b.tip)

    # -- memory ---------------------------------------------------------------------------
    def memory_bytes(self) -> int:
        """Bytes held: keyframes and tips (shared arrays once), stored histories, logged edits."""
        extra = 0
        for b in self.branches.values():
            if b.history is not None:
                extra += sum(sharing.nbytes(x) for x in sharing.leaves(b.history))
            extra += sum(sharing.nbytes(x) for c in b.changes for x in sharing.leaves(c[2]))
        return self._bytes + extra

    def _add_keyframe(self, b: Branch, kf: Keyframe) -> None:
        b.keyframes.append(kf)
        self._hold(kf)
        self._bytes_check()

    def _bytes_check(self) -> None:
        if self.memory_bytes() > self.budget_bytes:
            self.thin()

    def thin(self) -> None:
        """Drop keyframes until the budget holds or only the ones that must stay are left."""
        while self.memory_bytes() > self.budget_bytes:
            order = sorted(self.branches.values(), key=lambda b: len(b.keyframes), reverse=True)
            for b in order:
                # never the first (a fork's own start), never the newest (the next one shares with it)
                droppable = [i for i in range(1, len(b.keyframes) - 1) if b.keyframes[i].step != 0]
                if not droppable:
                    continue
                older = droppable[: (len(droppable) + 1) // 2]
                for i in reversed(older[1::2] or older[:1]):
                    kf = b.keyframes.pop(i)
                    self._release(kf)
                    nxt, prev = b.keyframes[i], b.keyframes[i - 1]
                    held = {id(x) for x in sharing.leaves(prev.state)}
                    nxt.nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(nxt.state)) if id(x) not in held)
                break
            else:
                return                                      # nothing left that may go

    def _hold(self, kf: Keyframe) -> None:
        for x in sharing.leaves(kf.state):
            e = self._refs.get(id(x))
            if e is None:
                n = sharing.nbytes(x)
                self._refs[id(x)] = [x, 1, n]
                self._bytes += n
            else:
                e[1] += 1

    def _release(self, kf: Keyframe) -> None:
        for x in sharing.leaves(kf.state):
            e = self._refs.get(id(x))
            if e is None:
                continue
            e[1] -= 1
            if e[1] <= 0:
                del self._refs[id(x)]
                self._bytes -= e[2]

    # -- files -------------------------------------------------------------------------------
    def state_dict(self, max_bytes: int | None = None) -> dict:
        """Plain data for a session file (keyframes keep sharing their arrays: a file writes each once).
        The current branch's tip and history are the session's own state and history. `max_bytes`: the
        keyframes thinned as the budget would thin them, to make a lighter file (this timeline keeps
        its own)."""
        if max_bytes is not None and self.memory_bytes() > max_bytes:
            lighter = Timeline(max_bytes, self.keyframe_every)
            lighter.load_state_dict(self.state_dict())
            lighter.budget_bytes = max_bytes
            lighter.thin()
            out = lighter.state_dict()
            out["budget_bytes"] = self.budget_bytes
            return out

        def kf(k: Keyframe | None) -> dict | None:
            return None if k is None else {"step": k.step, "state": k.state, "metrics": dict(k.metrics)}

        return {"budget_bytes": self.budget_bytes, "keyframe_every": self.keyframe_every, "current": self.current,
                "branches": [{"id": b.id, "parent": b.parent, "fork_step": b.fork_step, "label": b.label,
                              "keyframes": [kf(k) for k in b.keyframes], "history": b.history, "tip": kf(b.tip),
                              "changes": [[c[0], c[1], c[2]] for c in b.changes]}
                             for b in self.branches.values()]}

    def load_state_dict(self, d: dict) -> None:
        """Take what state_dict() gave; ValueError if it does not describe a consistent set of branches."""
        branches: dict[int, Branch] = {}
        for bd in d["branches"]:
            kfs, prev = [], None
            for k in bd["keyframes"]:
                state = k["state"] if prev is None else sharing.share(k["state"], prev.state)
                prev = Keyframe(int(k["step"]), state, 0, dict(k.get("metrics") or {}))
                kfs.append(prev)
            tip = bd.get("tip")
            if tip is not None:
                state = tip["state"] if prev is None else sharing.share(tip["state"], prev.state)
                tip = Keyframe(int(tip["step"]), state, 0, dict(tip.get("metrics") or {}))
            changes = [(int(c[0]), str(c[1]), tuple(c[2]) if c[1] == "edit" else c[2]) for c in bd.get("changes", [])]
            b = Branch(int(bd["id"]), None if bd["parent"] is None else int(bd["parent"]), int(bd["fork_step"]),
                       str(bd["label"]), kfs, bd.get("history"), tip, changes)
            if not kfs or any(a.step > c.step for a, c in zip(kfs, kfs[1:])):
                raise ValueError(f"branch {b.id} has no keyframes in order")
            branches[b.id] = b
        current = int(d["current"])
        if current not in branches or any(b.parent is not None and b.parent not in branches for b in branches.values()):
            raise ValueError("its branches do not form one tree")
        if any(b.tip is None or b.history is None for b in branches.values() if b.id != current):
            raise ValueError("a branch has lost its newest state")
        self.branches = branches
        self.current = current
        self.budget_bytes = int(d.get("budget_bytes", DEFAULT_BUDGET))
        every = d.get("keyframe_every")
        self.keyframe_every = None if every is None else int(every)
        self._refs.clear()
        self._bytes = 0
        for b in branches.values():
            prev = None
            for kf in b.keyframes:
                self._hold(kf)
                held = set() if prev is None else {id(x) for x in sharing.leaves(prev.state)}
                kf.nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(kf.state)) if id(x) not in held)
                prev = kf
            if b.tip is not None:
                self._hold(b.tip)
                held = {id(x) for x in sharing.leaves(prev.state)}
                b.tip.nbytes = sum(sharing.nbytes(x) for x in sharing.unique(sharing.leaves(b.tip.state)) if id(x) not in held)
