"""The prose non-answer detectors, each a pure function of the text, and how judge_answer
combines them."""

from __future__ import annotations

import pytest

from lsp_server.routing.answers import (
    judge_answer,
    names_nothing_asked,
    non_answer,
    other_language,
    refusal,
    repetition_loop,
    truncated_code_block,
)

GOOD = ("`total_value` walks the stock's quantities and multiplies each SKU's unit price by the "
        "quantity on hand, summing the products into one float.")
QUESTION = "Explain what `total_value` computes."


def test_a_good_answer_passes_every_detector() -> None:
    assert judge_answer(GOOD, question=QUESTION, symbols=["total_value"]) == (0.95, ["a complete prose answer"])
    for detector in (refusal, non_answer, repetition_loop, truncated_code_block):
        assert detector(GOOD) is None
    assert names_nothing_asked(GOOD, ["total_value"]) is None and other_language(GOOD, QUESTION) is None


@pytest.mark.parametrize("text", ["I do not know.", "I don't know what this does.", "I'm not sure; it depends.",
                                  "Hard to say without more context about the caller."])
def test_i_do_not_know_is_not_accepted(text: str) -> None:
    confidence, reasons = judge_answer(text)
    assert confidence < 0.85 and "the answer says it does not know (a non-answer)" in reasons


def test_a_caveat_in_a_long_answer_is_not_a_non_answer() -> None:
    long = GOOD + " " + "It then rounds the sum and returns it to the caller as a float value. " * 4
    assert non_answer(long + " I'm not sure whether callers rely on rounding.") is None


@pytest.mark.parametrize("text", [
    "The total is computed here.\n" + "The total is computed here.\n" * 5,
    "`total_value` sums prices. " + "It sums the prices again and again. " * 10,
    "\n".join(["first line", *["return value * quantity  # total"] * 3, "x", *["return value * quantity  # total"] * 3]),
])
def test_repetition_loops_are_not_accepted(text: str) -> None:
    assert repetition_loop(text) is not None
    assert judge_answer(text)[0] < 0.85


def test_refusal_off_topic_language_and_truncated_code() -> None:
    assert refusal("I'm sorry, but I can't help with that.") == "the model declined to answer"
    assert names_nothing_asked("It adds things up.", ["total_value", "pricing.py"]) is not None
    assert names_nothing_asked("Adds up the total of each item.", ["total_value"]) is None  # a word of it
    assert names_nothing_asked("Anything.", []) is None  # nothing named: not checked
    french = ("La fonction parcourt les quantités du stock et multiplie chaque prix unitaire par la "
              "quantité en stock, puis additionne les produits pour obtenir une valeur totale.")
    assert other_language(french, QUESTION) == "the answer is not in the question's language (English)"
    assert other_language("这个函数遍历库存数量，将每个商品的单价乘以数量，然后把所有乘积相加得到一个浮点数总值。", QUESTION)
    assert other_language(GOOD, "Объясни, что делает эта функция?") is not None
    assert truncated_code_block("Here:\n```python\ndef f():\n    return") is not None
    assert truncated_code_block("Here:\n```python\nx = 1\n```\n") is None
