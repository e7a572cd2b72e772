"""The operator index: curated exports, marble docstrings, no logic, lazy imports."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap

import pytest

from rxdeepgram import operators as dgo

OPERATORS = [name for name in dgo.__all__ if name[0].islower()]


def test_all_is_sorted_and_resolvable() -> None:
    assert dgo.__all__ == sorted(dgo.__all__)
    assert len(set(dgo.__all__)) == len(dgo.__all__)
    assert [n for n in dgo.__all__ if not hasattr(dgo, n)] == []
    assert {"Utterance", "Turn", "TurnState", "FunctionHandler"} <= set(dgo.__all__)
    assert OPERATORS == [
        "audio",
        "clear_on_barge_in",
        "final_transcript_latency",
        "final_transcripts",
        "function_calls",
        "interim_transcripts",
        "interrupt_on_barge_in",
        "sentences",
        "time_to_first_byte",
        "transcripts",
        "turns",
        "utterances",
        "words",
    ]


@pytest.mark.parametrize("name", OPERATORS)
def test_each_operator_has_a_marble_diagram_and_no_logic(name: str) -> None:
    function = getattr(dgo, name)
    doc = inspect.getdoc(function) or ""
    assert ".. marble::" in doc
    assert f":alt: {name}" in doc
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0]
    assert isinstance(body, ast.FunctionDef)
    kinds = [type(statement).__name__ for statement in body.body]
    assert kinds == ["Expr", "ImportFrom", "Return"], kinds
    imported = body.body[1]
    assert isinstance(imported, ast.ImportFrom)
    assert imported.level == 1 and imported.module in {
        "_transcripts",
        "_turns",
        "_audio",
        "_text",
        "_agent",
        "_metrics",
    }


def test_importing_the_index_loads_no_implementation() -> None:
    code = (
        "import sys, rxdeepgram.operators\n"
        "mods = ['_transcripts', '_turns', '_audio', '_text', '_agent', '_metrics']\n"
        "loaded = [m for m in mods if 'rxdeepgram.operators.' + m in sys.modules]\n"
        "print(loaded, 'rxdeepgram.messages.agent_v1' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[] False"


def test_result_types_are_frozen_value_objects() -> None:
    utterance = dgo.Utterance(text="hi", words=[], start=0.0, end=1.0)
    assert (utterance.channel, utterance.ended_by) == (0, "speech_final")
    with pytest.raises(AttributeError):
        utterance.text = "changed"  # type: ignore[misc]
    turn = dgo.Turn(
        index=0, state="ended", transcript="", words=[], confidence=1.0, start=0.0, end=1.0
    )
    assert turn.final and turn == dgo.Turn(**{f: getattr(turn, f) for f in turn.__struct_fields__})
