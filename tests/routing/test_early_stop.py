"""The early-stop rules on real model failure shapes, and on answers they must let through."""

from __future__ import annotations

import pytest

from lsp_server.routing.early_stop import Expect, Monitor, language_of_fence, script_of

EDIT = Expect(mode="edit", edit_format="search_replace", language="rust",
              question="add a doc comment explaining what this function computes")
DEFINITION = Expect(mode="edit", edit_format="whole_definition", language="rust",
                    question="add a doc comment")
ANSWER = Expect(mode="answer", language="rust", question="explain what total_area does")


def feed(expect: Expect, text: str, piece: int = 3) -> tuple[str | None, int]:
    """The stop reason for ``text`` streamed in small pieces, and the characters read."""
    monitor = Monitor(expect)
    for i in range(0, len(text), piece):
        reason = monitor.feed(text[i:i + piece])
        if reason is not None:
            return reason, i + piece
    return None, len(text)


GOOD_EDIT = """src/lib.rs
<<<<<<< SEARCH
pub fn total_area(shapes: &[Shape]) -> f64 {
=======
/// The sum of the areas of all `shapes`.
pub fn total_area(shapes: &[Shape]) -> f64 {
>>>>>>> REPLACE
"""

GOOD_DEFINITION = """REPLACE total_area IN src/lib.rs
```rust
/// The sum of the areas of all `shapes`.
pub fn total_area(shapes: &[Shape]) -> f64 {
    shapes.iter().map(Shape::area).sum()
}
```
"""

GOOD_ANSWER = """`total_area` adds up the area of every shape in the slice: it maps each `Shape`
to `Shape::area` and sums the results, so an empty slice gives `0.0`.

```rust
let total: f64 = shapes.iter().map(Shape::area).sum();
```

It does not deduplicate shapes; a shape listed twice is counted twice.
"""


@pytest.mark.parametrize(("expect", "text"), [
    (EDIT, GOOD_EDIT), (DEFINITION, GOOD_DEFINITION), (ANSWER, GOOD_ANSWER),
    (EDIT, "Here is the change with a doc comment added above the function.\n" + GOOD_EDIT),
])
def test_acceptable_answers_stream_to_their_end(expect: Expect, text: str) -> None:
    assert feed(expect, text) == (None, len(text))


def test_an_edit_answer_without_its_header_stops_after_the_first_tokens() -> None:
    essay = ("The function total_area computes the total area of the shapes. It iterates over "
             "the shapes and adds up the area of each one, returning a floating point number "
             "that represents the sum. This is useful for many applications in geometry ") * 5
    reason, read = feed(EDIT, essay)
    assert reason is not None and "no edit block (<<<<<<< SEARCH)" in reason
    assert read < len(essay) // 3
    reason, _ = feed(DEFINITION, essay)
    assert reason is not None and "REPLACE <name> IN <path>" in reason


def test_a_repetition_loop_stops() -> None:
    loop = "The area is the width times the height. " * 8
    reason, read = feed(ANSWER, "`total_area` sums areas. " + loop)
    assert reason is not None and "repeats" in reason and read < 25 + 3 * 41 + 10


def test_a_repeated_line_stops() -> None:
    lines = "let x = shapes.len();\n" * 5
    reason, _ = feed(ANSWER, "Some explanation first.\n" + lines)
    assert reason is not None and "repeats" in reason


def test_a_new_question_or_turn_stops() -> None:
    text = "It sums the areas of the shapes.\n\nQuestion: What is the capital of France?\n"
    reason, _ = feed(ANSWER, text)
    assert reason is not None and "new turn or question" in reason
    reason, _ = feed(ANSWER, "It sums the areas.<end_of_turn>\n<start_of_turn>user\nmore")
    assert reason is not None and "new turn" in reason


def test_another_natural_language_stops() -> None:
    text = "Функция total_area вычисляет сумму площадей всех фигур в срезе и возвращает число."
    reason, _ = feed(ANSWER, text)
    assert reason is not None and "cyrillic" in reason


def test_a_code_block_for_another_language_stops_but_neutral_tags_do_not() -> None:
    reason, _ = feed(ANSWER, "It sums areas, like this:\n```python\ndef total_area(s):\n")
    assert reason is not None and "another language (python" in reason
    for tag in ("rust", "rs", "text", "toml", "console", ""):
        text = f"It sums areas, like this:\n```{tag}\nlet total = 1.0;\n```\nThat is all there is to it."
        assert feed(ANSWER, text) == (None, len(text)), tag


def test_helpers() -> None:
    assert language_of_fence("Py") == "python" and language_of_fence("diff") is None
    assert script_of("explain what total_area does") == "LATIN"
    assert script_of("什么是总面积函数的作用和返回值呢") == "CJK"
    assert script_of("ok") is None


def test_prose_starting_with_the_word_replace_is_not_a_definition_header() -> None:
    prose = ("Replace the loop with an iterator so that the function reads better and "
             "computes the same total area of all the shapes in the given slice of boxes. ") * 3
    reason, _ = feed(DEFINITION, prose)
    assert reason is not None and "no edit block" in reason
