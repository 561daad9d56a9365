"""Wrong-but-valid edits: semantic mutants of real functions, built with tree-sitter operators.

Each operator changes one spot inside one (non-test) function and yields the function's text
before and after, so a mutant is a search/replace answer over that function:

* ``flip_comparison``  ``<`` ↔ ``>=``, ``>`` ↔ ``<=``, ``==`` ↔ ``!=``
* ``off_by_one``       an integer literal n → n + 1
* ``swap_args``        the first two arguments of a call swapped
* ``other_variable``   a use of one parameter replaced by another parameter of the function
* ``delete_statement`` an expression statement removed
* ``arith_operator``   ``+`` ↔ ``-``, ``*`` ↔ ``/``
* ``early_return``     ``return`` (Python) / ``return Default::default();`` (Rust) first in the body

Whether a mutant still compiles is for the verifier's compile check to say; the benchmark keeps
only those that do (wrong but valid).

:func:`neutral` gives the opposite: a comment line added first in a function's body, an edit
that changes nothing a test can see (a good edit every check level must keep, so a flaky test
the related tests run shows up as a rejected good edit).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from lsp_server.context.index.languages import language_for

OPERATORS = ("flip_comparison", "off_by_one", "swap_args", "other_variable", "delete_statement",
             "arith_operator", "early_return")
_FLIP = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}
_ARITH = {"+": "-", "-": "+", "*": "/", "/": "*"}
_FUNCS = {"function_definition", "function_item"}
_BINARY = {"binary_expression", "binary_operator", "comparison_operator"}
_INTS = {"integer", "integer_literal"}
_CALLS = {"call", "call_expression"}


@dataclass(frozen=True)
class Mutant:
    operator: str
    path: str
    function: str
    line: int  # 1-based line of the function's start
    search: str  # the function as it is
    replace: str  # the function mutated

    def answer(self) -> str:
        return f"{self.path}\n<<<<<<< SEARCH\n{self.search}=======\n{self.replace}>>>>>>> REPLACE\n"


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _is_test(fn: Node, src: bytes) -> bool:
    name = fn.child_by_field_name("name")
    text = src[name.start_byte:name.end_byte].decode() if name else ""
    prev = fn.prev_sibling
    attr = prev is not None and prev.type == "attribute_item" and b"test" in src[prev.start_byte:prev.end_byte]
    return text.startswith("test") or attr


def _params(fn: Node, src: bytes) -> list[str]:
    params = fn.child_by_field_name("parameters")
    names: list[str] = []
    for n in _walk(params) if params else []:
        if n.type == "identifier" and n.parent is not None and n.parent.type in {
            "parameters", "parameter", "typed_parameter", "default_parameter", "typed_default_parameter"
        }:
            name = src[n.start_byte:n.end_byte].decode()
            if name not in {"self", "cls"} and name not in names:
                names.append(name)
    return names


def _edits(fn: Node, src: bytes, rust: bool) -> Iterator[tuple[str, int, int, bytes]]:
    """(operator, start, end, new bytes) for every mutation point in ``fn``."""
    body = fn.child_by_field_name("body")
    if body is None:
        return
    params = _params(fn, src)
    for n in _walk(body):
        if n.type in _FUNCS and n is not fn:
            continue
        if n.type in _BINARY:
            for op in n.children:
                token = src[op.start_byte:op.end_byte].decode()
                if not op.is_named and token in _FLIP:
                    yield "flip_comparison", op.start_byte, op.end_byte, _FLIP[token].encode()
                elif not op.is_named and token in _ARITH and n.type != "comparison_operator":
                    yield "arith_operator", op.start_byte, op.end_byte, _ARITH[token].encode()
        elif n.type in _INTS:
            text = src[n.start_byte:n.end_byte].decode()
            if text.isdigit():
                yield "off_by_one", n.start_byte, n.end_byte, str(int(text) + 1).encode()
        elif n.type in _CALLS:
            args = n.child_by_field_name("arguments")
            named = [a for a in (args.named_children if args else []) if a.type not in {"comment", "keyword_argument"}]
            if len(named) >= 2:
                a, b = named[0], named[1]
                ta, tb = src[a.start_byte:a.end_byte], src[b.start_byte:b.end_byte]
                if ta != tb:
                    yield "swap_args", a.start_byte, b.end_byte, tb + src[a.end_byte:b.start_byte] + ta
        elif n.type == "identifier" and len(params) >= 2:
            name = src[n.start_byte:n.end_byte].decode()
            parent = n.parent
            if name in params and parent is not None and parent.type not in {"keyword_argument", "parameters"}:
                other = next(p for p in params if p != name)
                yield "other_variable", n.start_byte, n.end_byte, other.encode()
        elif n.type == "expression_statement":
            start = src.rfind(b"\n", 0, n.start_byte) + 1
            end = src.find(b"\n", n.end_byte)
            if end != -1 and src[start:n.start_byte].strip() == b"":
                yield "delete_statement", start, end + 1, b""
    first = body.named_children[0] if body.named_children else None
    if first is not None:
        start = src.rfind(b"\n", 0, first.start_byte) + 1
        indent = src[start:first.start_byte]
        if indent.strip() == b"":
            line = b"return Default::default();" if rust else b"return"
            yield "early_return", start, start, indent + line + b"\n"


def mutants(text: str, path: str) -> list[Mutant]:
    """Every mutant of every non-test function in ``text``."""
    spec = language_for(path)
    if spec is None:
        return []
    src = text.encode("utf-8")  # tree-sitter works in bytes; slices are decoded whole
    tree = spec.parser().parse(src)
    rust = path.endswith(".rs")
    out: list[Mutant] = []
    for fn in _walk(tree.root_node):
        if fn.type not in _FUNCS or _is_test(fn, src):
            continue
        start = src.rfind(b"\n", 0, fn.start_byte) + 1
        end = src.find(b"\n", fn.end_byte)
        end = len(src) if end == -1 else end + 1
        original = src[start:end]
        name_node = fn.child_by_field_name("name")
        name = src[name_node.start_byte:name_node.end_byte].decode() if name_node else "?"
        for op, a, b, new in _edits(fn, src, rust):
            mutated = src[start:a] + new + src[b:end]
            if mutated != original and text.count(original.decode()) == 1:
                out.append(Mutant(op, path, name, src.count(b"\n", 0, start) + 1,
                                  original.decode(), mutated.decode()))
    return out


def sample(found: list[Mutant], per_operator: int, seed: int = 27) -> list[Mutant]:
    """Up to ``per_operator`` mutants of each operator, chosen reproducibly."""
    rng = random.Random(seed)
    chosen: list[Mutant] = []
    for op in OPERATORS:
        pool = [m for m in found if m.operator == op]
        rng.shuffle(pool)
        chosen.extend(pool[:per_operator])
    return chosen


def neutral(text: str, path: str) -> list[Mutant]:
    """For every non-test function in ``text``: a comment line added first in its body."""
    spec = language_for(path)
    if spec is None:
        return []
    src = text.encode("utf-8")
    tree = spec.parser().parse(src)
    comment = b"// reviewed" if path.endswith(".rs") else b"# reviewed"
    out: list[Mutant] = []
    for fn in _walk(tree.root_node):
        if fn.type not in _FUNCS or _is_test(fn, src):
            continue
        body = fn.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is None:
            continue
        at = src.rfind(b"\n", 0, first.start_byte) + 1
        indent = src[at:first.start_byte]
        if indent.strip() or at <= fn.start_byte:
            continue  # the body starts on the signature's line: no line of its own to add before
        start = src.rfind(b"\n", 0, fn.start_byte) + 1
        end = src.find(b"\n", fn.end_byte)
        end = len(src) if end == -1 else end + 1
        original = src[start:end]
        if text.count(original.decode()) != 1:
            continue
        name_node = fn.child_by_field_name("name")
        name = src[name_node.start_byte:name_node.end_byte].decode() if name_node else "?"
        edited = src[start:at] + indent + comment + b"\n" + src[at:end]
        out.append(Mutant("comment", path, name, src.count(b"\n", 0, start) + 1,
                          original.decode(), edited.decode()))
    return out
