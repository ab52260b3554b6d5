"""Money: what paid calls cost, the go-ahead before a build spends it, and the `budget=` cap.

Providers price their calls (`Provider.estimate`); nothing here knows a provider. Before a
build starts, the planner's charges are printed and confirmed (`yes=1`, or a question on a
terminal). During the build every paid step reserves its charge in the run's ledger first, so a
call that would take the run over `budget=` (or the project over its `project_budget`) is never
made; a call that fails before anything is paid for (`NothingPaid`: refused, or never sent) gives
its reservation back. A call whose price is known only from its answer (text, by its tokens)
reserves the most it may cost, and is settled at what it cost (`Spend.settle`).

What is paid for is written to the project's spend log (`.vidpipe/spent.jsonl`) as the paid
request is sent, so what a project spent counts killed builds too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from vidpipe import fsutil
from vidpipe.errors import BadInput, NotConfirmed, NothingPaid, OverBudget, PaidFailed
from vidpipe.project.folder import Project

SPEND_LOG = "spent.jsonl"  # in the project's state folder

YES_WORDS = {"1", "true", "yes", "y"}
NO_WORDS = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class Charge:
    """The estimated price of one paid call."""

    model: str
    # what is paid for: "token" (text: the most a call may use), "image", "second" (of video),
    # "speech second", or "call"
    unit: str
    units: float
    usd: float


@dataclass(frozen=True)
class Approval:
    """What the user said on the command line about spending."""

    yes: bool = False
    budget: float | None = None  # dollars this run may spend at most


def take_approval(words: dict[str, str]) -> Approval:
    """Take `yes=` and `budget=` out of the command-line words."""
    given: dict[str, str] = {name: words.pop(name) for name in ("yes", "budget") if name in words}
    return approval_from_words(given)


def approval_from_words(words: dict[str, str]) -> Approval:
    """Read `yes=` and `budget=` (e.g. from the command line or an API request)."""
    yes = words.get("yes", "0").strip().lower()
    if yes not in YES_WORDS | NO_WORDS:
        raise BadInput(f"yes={words['yes']} is not understood; use yes=1 to confirm spending")
    budget = None
    if "budget" in words:
        try:
            budget = float(words["budget"].strip().lstrip("$"))
        except ValueError:
            budget = math.nan
        if not math.isfinite(budget) or budget < 0:
            raise BadInput(
                f"budget={words['budget']} is not an amount of dollars; use e.g. budget=5"
            )
    return Approval(yes=yes in YES_WORDS, budget=budget)


def total(charges: Iterable[Charge]) -> float:
    return sum(charge.usd for charge in charges)


def summary(charges: list[Charge]) -> list[str]:
    """One line per model: calls, units and dollars; then the total."""
    by_model: dict[str, list[Charge]] = {}
    for charge in charges:
        by_model.setdefault(charge.model, []).append(charge)
    lines = []
    for model, group in by_model.items():
        count, plural = len(group), "" if len(group) == 1 else "s"
        if group[0].unit == "second":
            calls = f"{count} clip{plural}, {sum(c.units for c in group):g} s of video"
        elif group[0].unit == "speech second":
            calls = f"{count} line{plural}, {sum(c.units for c in group):g} s of speech"
        elif group[0].unit == "token":
            calls = f"{count} call{plural}, <= {round(sum(c.units for c in group))} tokens"
        elif group[0].unit == "image":
            calls = f"{count} image{plural}"
        else:
            calls = f"{count} call{plural}"
        lines.append(f"  {model:<28} {calls:<24} ${total(group):.2f}")
    lines.append(f"  estimated total: ${total(charges):.2f}")
    return lines


def approve(
    charges: list[Charge],
    approval: Approval,
    project_id: str,
    out: TextIO,
    ask: Callable[[str], str] | None = None,
    as_json: bool = False,
    portraits: list[Charge] | None = None,
) -> None:
    """Show what the build will pay for; return when the user agreed, else raise NotConfirmed.
    A build that pays for nothing needs no go-ahead. `portraits`: the most the portraits of
    the characters a storyboard still to be written may name can cost, one charge each."""
    if not charges:
        return
    portraits = portraits or []
    if as_json:
        event = {"event": "estimate", "total_usd": round(total(charges), 4)}
        event["charges"] = [asdict(charge) for charge in charges]
        if portraits:
            event["portraits_up_to_usd"] = round(total(portraits), 4)
        event["budget_usd"] = approval.budget
        out.write(json.dumps(event) + "\n")
    else:
        out.write("paid calls this build will make (prices from the model catalog):\n")
        out.write("\n".join(summary(charges)) + "\n")
        if portraits:
            out.write(
                f"  and up to ${total(portraits):.2f} for portraits (at most {len(portraits)}: "
                "one per character the storyboard names)\n"
            )
        if approval.budget is not None:
            out.write(
                f"  budget: ${approval.budget:.2f} (the build stops before a call that would "
                "go over it)\n"
            )
    out.flush()
    if approval.yes:
        return
    if ask is None and not as_json and sys.stdin.isatty() and out.isatty():
        ask = input
    if ask is not None:
        answer = ask(f"spend about ${total(charges):.2f}? [y/N] ").strip().lower()
        if answer in {"y", "yes"}:
            return
    raise NotConfirmed(
        f"this build would spend about ${total(charges):.2f} and nothing was spent; to go "
        f"ahead: vidpipe resume id={project_id} yes=1 (add budget=<dollars> to cap it)"
    )


class Ledger:
    """What one build run has committed to spend so far (thread-safe), within the run's
    `budget` and the project's `cap` (of which `spent_before` was spent by earlier runs)."""

    def __init__(
        self, budget: float | None, cap: float | None = None, spent_before: float = 0.0
    ) -> None:
        self.budget = budget
        self.cap = cap
        self.spent_before = spent_before
        self.spent = 0.0
        self._lock = threading.Lock()

    def reserve(self, charges: list[Charge], label: str) -> float:
        """Commit to `charges` (raises OverBudget); returns the dollars reserved."""
        cost = total(charges)
        if not cost:
            return 0.0
        with self._lock:
            models = ", ".join(sorted({charge.model for charge in charges}))
            # a cent of slack: estimates are sums of floats
            if self.budget is not None and self.spent + cost > self.budget + 0.005:
                raise OverBudget(
                    f"{label} would cost about ${cost:.2f} ({models}), taking this run to "
                    f"${self.spent + cost:.2f}, over budget=${self.budget:.2f}; it was not "
                    "started: resume with a larger budget="
                )
            project_total = self.spent_before + self.spent + cost
            if self.cap is not None and project_total > self.cap + 0.005:
                raise OverBudget(
                    f"{label} would cost about ${cost:.2f} ({models}), taking the project to "
                    f"${project_total:.2f} spent, over its project_budget=${self.cap:.2f}; it "
                    "was not started: raise project_budget in project.yaml to go on"
                )
            self.spent += cost
        return cost

    def release(self, cost: float) -> None:
        """Give back a reservation whose call was not paid for."""
        with self._lock:
            self.spent -= cost


# The ledger of each build running in this process, by project folder.
_ledgers: dict[Path, Ledger] = {}
_log_lock = threading.Lock()


@contextlib.contextmanager
def run_ledger(root: Path, budget: float | None, cap: float | None = None) -> Iterator[Ledger]:
    ledger = Ledger(budget, cap, spent(root))
    _ledgers[root.resolve()] = ledger
    try:
        yield ledger
    finally:
        _ledgers.pop(root.resolve(), None)


class Spend:
    """What a reserved call costs, logged as spent once it is paid for (`paying`), and
    settled at what it did cost once that is known (`settle`)."""

    def __init__(self, root: Path, cost: float, label: str, ledger: Ledger | None = None) -> None:
        self.root, self.cost, self.label = root, cost, label
        self.ledger = ledger
        self.logged = False

    def paying(self) -> None:
        """The paid request is about to be sent: count it (once)."""
        if self.cost and not self.logged:
            _log_spend(self.root, self.cost, self.label)
            self.logged = True

    def settle(self, usd: float, how: str) -> None:
        """The call cost `usd` (`how`: what it was billed for): the spend log and the run's
        ledger count that instead of what was reserved."""
        if not self.logged or abs(usd - self.cost) < 1e-9:
            return
        change = usd - self.cost
        said = f"{self.label}: ${usd:.4f} paid ({how}) of ${self.cost:.4f} reserved"
        _log_spend(self.root, change, said)
        if self.ledger is not None:
            self.ledger.release(-change)
        self.cost = usd

    def unpaid(self) -> None:
        if self.logged:
            _log_spend(self.root, -self.cost, f"{self.label} (failed before anything was paid)")
            self.logged = False


@contextlib.contextmanager
def reserving(root: Path, charges: list[Charge], label: str) -> Iterator[Spend]:
    """Commit to `charges` before making the calls inside (raises OverBudget). They are
    logged as spent when the provider says it is paying, or else when the calls return; a
    NothingPaid failure releases them. A step run outside a build (no ledger) has no cap."""
    ledger = _ledgers.get(root.resolve())
    cost = ledger.reserve(charges, label) if ledger is not None else total(charges)
    spend = Spend(root, cost, label, ledger)
    try:
        yield spend
    except PaidFailed as err:  # answered (so paid), but of no use: what the answer cost
        spend.paying()
        spend.settle(err.usd, err.billed)
        raise
    except NothingPaid:
        if ledger is not None:
            ledger.release(cost)
        spend.unpaid()
        raise
    spend.paying()


def spent(root: Path) -> float:
    """Dollars the project's builds committed to (killed builds included)."""
    state = Project(root).state_dir
    if not (state / SPEND_LOG).exists():  # no paid call since there is a log
        return round(sum(_dollars(r.get("cost_usd")) for r in _runs(state)), 6)
    return round(
        sum(_dollars(entry.get("usd")) for entry in fsutil.read_json_lines(state / SPEND_LOG)), 6
    )


def _log_spend(root: Path, usd: float, label: str) -> None:
    log = Project(root).state_dir / SPEND_LOG
    with _log_lock:
        if not log.exists():  # what builds spent before there was a log: their run records
            before = sum(_dollars(run.get("cost_usd")) for run in _runs(log.parent))
            if before:
                _append(log, {"time": round(time.time(), 3), "usd": before, "for": "earlier runs"})
        _append(log, {"time": round(time.time(), 3), "usd": round(usd, 6), "for": label})


def _runs(state: Path) -> list[dict]:
    return fsutil.read_json_lines(state / "runs.jsonl")


def _append(path: Path, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _dollars(value: object) -> float:
    """An amount from a log: a number, else nothing (a damaged entry spends nothing)."""
    return float(value) if fsutil.is_number(value) else 0.0  # type: ignore[arg-type]
