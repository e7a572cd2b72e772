"""The offline engines' honest figure: the round trip on everyday sentences.

``tests/data/everyday_sentences.txt`` is the set (fixed before any tuning);
``benchmarks/local_roundtrip.py`` measures it; the demo prints the figure
(``_demo.EVERYDAY_WER``) and README / ``docs/accuracy.md`` report it. These tests keep the set
what it claims to be and the reported figures in step, and run the benchmark on a few of the
sentences through the real local server.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from rxdeepgram._cli import _demo

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ROOT / "tests" / "data" / "everyday_sentences.txt"


def load() -> list[str]:
    return [line.strip() for line in SENTENCES.read_text().splitlines() if line.strip()]


def test_the_set_is_at_least_fifty_plain_distinct_sentences() -> None:
    sentences = load()
    assert len(sentences) >= 50
    assert len(set(sentences)) == len(sentences)
    for sentence in sentences:
        assert re.fullmatch(r"[a-z' ]+", sentence), sentence
        assert 3 <= len(sentence.split()) <= 16, sentence
    assert sum(len(s.split()) for s in sentences) == _demo.EVERYDAY_WER["reference_words"]
    assert len(sentences) == _demo.EVERYDAY_WER["sentences"]


def test_the_figure_is_reported_where_the_demo_says() -> None:
    figure = f"{_demo.EVERYDAY_WER['wer']:.1%}"
    accuracy = (ROOT / "docs" / "accuracy.md").read_text()
    table = accuracy.split("<!-- roundtrip:begin -->")[1].split("<!-- roundtrip:end -->")[0]
    current = [line for line in table.splitlines() if line.startswith("| now")]
    assert len(current) == 1 and figure in current[0], table
    assert f"{_demo.EVERYDAY_WER['errors']} errors in" in current[0]
    readme = (ROOT / "README.md").read_text()
    assert f"{figure} word error rate" in readme


@pytest.mark.skipif(
    importlib.util.find_spec("pocketsphinx") is None
    or importlib.util.find_spec("espeakng_loader") is None,
    reason="the local engines need pocketsphinx and espeakng-loader (rxdeepgram[local])",
)
@pytest.mark.timeout(120)
def test_the_benchmark_runs_the_round_trip() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import local_roundtrip
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    sentences = load()[:5]
    result = local_roundtrip.measure(sentences)
    assert result["sentences"] == 5
    assert result["words"] == sum(len(s.split()) for s in sentences)
    assert len(result["finals"]) == 5 and all(result["finals"]), result["finals"]
    assert result["wer"] <= 0.5, result["finals"]  # the whole set: see docs/accuracy.md
