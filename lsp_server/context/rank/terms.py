"""What a request names: identifiers, paths, quoted code, words.

A request is prose mixed with code: backticked names, fenced blocks, tracebacks with
``file.py:12``, Rust paths ``a::b::C``, CLI flags ``--max-depth``. Text that *looks* like code
(snake_case, CamelCase, a call, a path, or anything quoted) is a strong hint that the
repository defines or uses that name; plain prose words only carry lexical weight. The same
splitting (CamelCase and snake_case into lower-case parts) tokenizes definitions for BM25, so
a request and the code meet on the same vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STOPWORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing don down during each else etc
    few for from further get gets got had has have having he her here hers him his how i if in
    into is it its itself just let like may me might more most must my no nor not now of off on
    once only or other our out over own same see seems she should so some such than that the
    their them then there these they this those through to too under until up use used using
    very via was we were what when where which while who whom why will with would yes yet you
    your e g eg ie i e ok thanks please hi hello issue bug work works working expected actual
    version want need would example examples output input run running tried try
    fn pub self mut ref impl struct enum let match return use mod crate super def class none
    true false str string int bool none some ok err result option vec new
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

MIN_PHRASE = 8
_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_QUOTED = re.compile(r"""(?<![\w])(["'])([^"'\n]{3,160})\1""")
_PATH = re.compile(
    r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.(?:rs|py|pyi|toml|md|txt|cfg|ini|json|yml|yaml|sh))"
    r"(?::(\d+))?(?![\w/])"
)
_PY_TRACE = re.compile(r'File "([^"]+)", line (\d+)(?:, in (\w+))?')
# Rust: "thread 'main' panicked at src/walk.rs:12:5" (and "panicked at 'msg', src/walk.rs:12:5").
_RUST_PANIC = re.compile(r"panicked at (?:'[^'\n]*', )?([\w./\\-]+\.rs):(\d+)")
_FLAG = re.compile(r"(?<![\w-])--?([A-Za-z][\w-]{1,40})")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.)[A-Za-z_][A-Za-z0-9_]*)*")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_identifier(name: str) -> list[str]:
    """``parseHTTPResponse_v2`` → ``["parse", "http", "response", "v2"]`` (lower case)."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        if not chunk:
            continue
        pieces = _CAMEL.findall(chunk)
        if not pieces:
            continue
        # Keep a digit suffix attached to its word ("v2", "utf8").
        merged: list[str] = []
        for piece in pieces:
            if piece.isdigit() and merged:
                merged[-1] += piece
            else:
                merged.append(piece)
        parts.extend(p.lower() for p in merged)
    return parts


def _stem(word: str) -> str:
    """A light plural/verb suffix strip so ``panics`` meets ``panic`` and ``walking`` ``walk``."""
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    return word


def tokenize(text: str) -> list[str]:
    """BM25 tokens: each word's lower-case parts (stemmed), plus the whole compound name.

    Stop words and one-letter parts are dropped; a compound like ``max_depth`` yields
    ``max``, ``depth`` and ``max_depth`` so both exact and partial mentions match.
    """
    out: list[str] = []
    memo = _WORD_TOKENS
    for word in _WORD.findall(text):
        toks = memo.get(word)
        if toks is None:
            toks = _word_tokens(word)
            if len(memo) < _MEMO_MAX:
                memo[word] = toks
        out.extend(toks)
    return out


# Source code repeats its words endlessly: splitting each distinct word once makes
# tokenizing a whole repository several times faster.
_MEMO_MAX = 500_000
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}


def forget_words() -> None:
    """Empty the memo of split words (tens of MB after a large project): for a process that
    has tokenized its project and will tokenize little more."""
    _WORD_TOKENS.clear()


def _word_tokens(word: str) -> tuple[str, ...]:
    if len(word) > 64:
        return ()
    parts = split_identifier(word)
    out = [_stem(p) for p in parts if len(p) > 1 and p not in STOPWORDS and not p.isdigit()]
    if len(parts) > 1:
        out.append(word.lower().strip("_"))
    return tuple(out)


def _looks_like_code(token: str) -> bool:
    core = token.strip("_")
    return (
        "_" in core
        or "::" in token
        or ("." in token and not token.endswith("."))
        or bool(re.search(r"[a-z][A-Z]", core))
        or (core[:1].isupper() and any(c.islower() for c in core[1:]) and len(core) > 3
            and bool(re.search(r"[A-Z]", core[1:])))
    )


@dataclass(frozen=True, slots=True)
class RequestTerms:
    """The request, read for code: each mention with a weight (code-like mentions weigh more)."""

    identifiers: dict[str, float]  # simple names (last segment of a path) → weight
    paths: dict[str, int | None]  # path-like mentions → a line number, when one was given
    flags: tuple[str, ...]  # CLI flags as identifiers: --max-depth → max_depth
    tokens: list[str]  # BM25 query tokens for the whole request
    phrases: tuple[str, ...] = ()  # verbatim text worth finding in files: quotes, code lines, flags
    # Where an error was raised, innermost first: the frames of Python tracebacks (each
    # traceback read from its last frame up) and the locations of Rust panics.
    raise_sites: tuple[str, ...] = ()

    def names(self, min_weight: float = 0.0) -> list[str]:
        return [n for n, w in self.identifiers.items() if w >= min_weight]


# Each "Traceback (most recent call last):" starts a new chain of frames.
_TRACEBACK_SPLIT = re.compile(r"Traceback \(most recent call last\)")


def _clean_path(path: str) -> str:
    return path.replace("\\", "/").lstrip("./")


_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_HEADER = re.compile(r"^[ \t]{0,3}#{1,6}[ \t].*$", re.M)
# One line of an environment listing: ``attrs   19.1.0``, ``pylint 2.14.1``, ``Linux 5.8.9-zen x86_64``.
_VERSION_LINE = re.compile(r"^\s*[\w.\-\[\]]+\s+v?\d+(?:\.\d+)+[\w.+\-]*(?:\s+\S+)?\s*$")
_RULE_LINE = re.compile(r"^\s*-{3,}[\s-]*$")
# Fewer lines than this in a row are a version or two worth reading, not a listing.
MIN_LISTING = 3


def drop_listings(text: str) -> str:
    """Drop environment listings (``pip list``, ``cargo tree``-style name/version tables).

    Bug reports paste hundreds of installed packages; their names are not the project's
    code and drown the words that say what is wrong. Runs of at least ``MIN_LISTING``
    name/version lines (with the table's dashed rules) go; a single ``tool 1.2.3`` stays.
    """
    lines = text.split("\n")
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        j, versions = i, 0
        while j < len(lines):
            if _VERSION_LINE.match(lines[j]):
                versions += 1
            elif not _RULE_LINE.match(lines[j]):
                break
            j += 1
        if versions >= MIN_LISTING:
            keep[i:j] = [False] * (j - i)
        i = max(j, i + 1)
    return "\n".join(line for line, k in zip(lines, keep, strict=True) if k)


# A link: ``https://github.com/o/r/pull/151``, ``<https://...>``, ``[here](https://...)``.
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]\"'`]+")
# A link to a file in a repository browser: ``.../blob/<ref>/src/printer.rs#L120``.
_FILE_URL = re.compile(r"/(?:blob|tree|raw|src)/[^/#?]+/([^#?]+?\.\w+)(?:#L(\d+))?(?:[#?]|$)")


def linked_files(text: str) -> dict[str, int | None]:
    """The repository files that links in ``text`` point at, with the linked line."""
    out: dict[str, int | None] = {}
    for m in _URL.finditer(text):
        f = _FILE_URL.search(m.group(0).rstrip(".,;:!"))  # the sentence's, not the link's
        if f and f.group(1) not in out:
            out[f.group(1)] = int(f.group(2)) if f.group(2) else None
    return out


def drop_urls(text: str) -> str:
    """Links are not code: a host name (``github.com``) or a commit hash in one would
    otherwise read as identifiers the project seems to name (its docs link to the same host).
    What a link to a file names is read by :func:`linked_files`."""
    return _URL.sub(" ", text)


def clean_request(text: str) -> str:
    """Drop what an issue template adds around the user's words: HTML comments, the
    template's markdown section headings ("#### What version are you using?") and pasted
    environment listings. Fenced code is otherwise kept as written (a ``# comment`` inside
    a code block is not a heading)."""
    text = drop_listings(_COMMENT.sub(" ", text))
    parts = re.split(r"(```.*?(?:```|\Z))", text, flags=re.S)
    return "".join(p if p.startswith("```") else _HEADER.sub("", p) for p in parts)


def extract_terms(text: str, *extra: str) -> RequestTerms:
    """Read ``text`` (and ``extra`` texts such as diagnostics) for what it names.

    The first line (an issue's title, a commit-style summary) says what the request is
    about most densely, so its words count twice in the lexical query.
    """
    linked = linked_files(text)
    text = clean_request(text)
    title = text.strip().split("\n", 1)[0] if text.strip() else ""
    # The lexical query keeps the words of links: stripping them was measured to move single
    # rows both ways (lost a changed-lines row on the Rust dev set, gained an Acc@5 row on
    # held-out Python), no net gain.
    lexical = "\n".join((text, *extra))
    whole = "\n".join((drop_urls(text), *extra))
    weights: dict[str, float] = {}
    paths: dict[str, int | None] = {}

    def add(name: str, weight: float) -> None:
        name = name.strip("_.:")  # keep inner underscores
        if len(name) < 3 or name.lower() in STOPWORDS or name.isdigit():
            return
        weights[name] = max(weights.get(name, 0.0), weight)

    def add_path(path: str, line: int | None) -> None:
        path = _clean_path(path)
        if path and (path not in paths or paths[path] is None):
            paths[path] = line

    sites: list[str] = []
    for block in _TRACEBACK_SPLIT.split(whole):
        frames = list(_PY_TRACE.finditer(block))
        for m in frames:
            add_path(m.group(1), int(m.group(2)))
            if m.group(3):
                add(m.group(3), 1.0)
        sites.extend(_clean_path(m.group(1)) for m in reversed(frames))
    for m in _RUST_PANIC.finditer(whole):
        add_path(m.group(1), int(m.group(2)))
        sites.insert(0, _clean_path(m.group(1)))
    for m in _PATH.finditer(whole):
        add_path(m.group(1), int(m.group(2)) if m.group(2) else None)
    for path, at in linked.items():
        add_path(path, at)

    code_spans = [m.group(1) for m in _FENCE.finditer(whole)]
    code_spans += [m.group(1) for m in _BACKTICK.finditer(_FENCE.sub(" ", whole))]
    code_spans += [m.group(2) for m in _QUOTED.finditer(whole)]
    for span in code_spans:
        for m in _IDENT.finditer(span):
            call = span[m.end():m.end() + 1] == "("
            for seg in re.split(r"::|\.", m.group(0)):
                add(seg, 1.0 if call or _looks_like_code(seg) else 0.5)

    flags: list[str] = []
    phrases: dict[str, None] = {}
    for m in _FLAG.finditer(whole):
        flag = m.group(1).replace("-", "_").strip("_")
        if len(flag) >= 3 and flag not in flags:
            flags.append(flag)
            add(flag, 0.8)
            if "-" in m.group(1) or len(m.group(1)) >= 5:
                phrases[m.group(1)] = None
    for span in code_spans:
        for line in span.split("\n")[:60]:
            line = line.strip().strip("$>#").strip()
            if len(line) >= MIN_PHRASE and not line.startswith(("//", "# ")):
                phrases[line[:160]] = None
                # "ValueError: message", "error: message": programs print a prefix that
                # the source does not contain next to the message.
                head, sep, tail = line.partition(": ")
                if sep and len(tail) >= MIN_PHRASE and len(head) <= 40:
                    phrases[tail[:160]] = None

    prose = _FENCE.sub(" ", whole)
    for m in _IDENT.finditer(prose):
        segs = re.split(r"::|\.", m.group(0))
        code = _looks_like_code(m.group(0)) or prose[m.end():m.end() + 1] == "("
        for seg in segs:
            if _looks_like_code(seg) or code:
                add(seg, 1.0)
            else:
                add(seg, 0.25)

    return RequestTerms(
        identifiers=dict(weights),
        paths=paths,
        flags=tuple(flags),
        tokens=tokenize(title) + tokenize(lexical),
        phrases=tuple(phrases),
        raise_sites=tuple(dict.fromkeys(s for s in sites if s)),
    )
