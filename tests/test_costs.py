"""Spending: the go-ahead before paid work, and the budget cap of a run."""

from __future__ import annotations

import io
import re

import pytest

from vidpipe.errors import BadInput, NotConfirmed, OverBudget
from vidpipe.project import costs
from vidpipe.project.costs import Approval, Charge

CHARGES = [
    Charge("gemini-3.5-flash", "token", 11962, 0.01),
    Charge("gemini-3.1-flash-image", "image", 1, 0.04),
    Charge("gemini-3.1-flash-image", "image", 1, 0.04),
    Charge("veo-3.1-fast-generate-001", "second", 4, 0.48),
]


def test_command_line_words():
    assert costs.approval_from_words({}) == Approval(yes=False, budget=None)
    assert costs.approval_from_words({"yes": "1", "budget": "$2.50"}) == Approval(True, 2.5)
    for bad in ({"budget": "-1"}, {"budget": "nan"}, {"budget": "lots"}, {"yes": "sure"}):
        with pytest.raises(BadInput):
            costs.approval_from_words(bad)
    words = {"yes": "1", "id": "x"}
    assert costs.take_approval(words).yes and words == {"id": "x"}


def test_the_summary_counts_calls_per_model_and_the_total():
    out = io.StringIO()
    costs.approve(CHARGES, Approval(yes=True), "p", out)
    text = out.getvalue()
    assert re.search(r"gemini-3.5-flash +1 call, <= 11962 tokens +\$0\.01", text)
    assert re.search(r"gemini-3.1-flash-image +2 images +\$0\.08", text)
    assert re.search(r"veo-3.1-fast-generate-001 +1 clip, 4 s of video +\$0\.48", text)
    assert "estimated total: $0.57" in text


def test_free_builds_need_no_go_ahead():
    out = io.StringIO()
    costs.approve([], Approval(), "p", out, ask=lambda question: "n")
    assert out.getvalue() == ""


def test_the_question_on_a_terminal():
    asked = []

    def answer(reply):
        return lambda question: asked.append(question) or reply

    costs.approve(CHARGES, Approval(), "p", io.StringIO(), ask=answer("y"))
    assert asked == ["spend about $0.57? [y/N] "]
    with pytest.raises(NotConfirmed, match="nothing was spent"):
        costs.approve(CHARGES, Approval(), "p", io.StringIO(), ask=answer(""))


def test_without_a_terminal_paid_work_needs_yes():
    with pytest.raises(NotConfirmed, match="vidpipe resume id=p yes=1"):
        costs.approve(CHARGES, Approval(), "p", io.StringIO())


def test_the_ledger_refuses_a_call_that_would_go_over_the_budget():
    ledger = costs.Ledger(budget=0.10)
    ledger.reserve(CHARGES[:2], "first")
    with pytest.raises(OverBudget, match=r"over budget=\$0\.10"):
        ledger.reserve(CHARGES[3:], "scene s1: clip")
    ledger.reserve(CHARGES[2:3], "scene s2: keyframe")  # still fits
    assert ledger.spent == pytest.approx(0.09)
    unlimited = costs.Ledger(budget=None)
    unlimited.reserve(CHARGES * 100, "all")
