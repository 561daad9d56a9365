"""What the index knows about a file, as plain data shared by the index, ranking and builder.

Paths are POSIX paths relative to the project root. Lines are 1-based and inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Definition:
    path: str
    name: str
    kind: str  # function, method, class, struct, enum, trait, impl, module, const, macro, type, ...
    qualname: str  # crate::shapes::Circle::area  /  inventory.models.Stock.add
    signature: str  # the header up to the body, one or a few lines
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    parent: str | None = None  # qualname of the enclosing definition

    def __reduce__(self) -> tuple[type[Definition], tuple[object, ...]]:
        # Unpickled by one constructor call: a slotted dataclass's default state protocol
        # walks its fields in Python, most of loading the ranking tables' snapshot on tokio.
        return (Definition, (self.path, self.name, self.kind, self.qualname, self.signature,
                             self.start_line, self.end_line, self.start_byte, self.end_byte,
                             self.parent))


@dataclass(frozen=True, slots=True)
class Reference:
    path: str
    name: str
    kind: str  # call, type, path, import, ...
    line: int
    enclosing: str | None = None  # qualname of the definition the reference sits in


@dataclass(frozen=True, slots=True)
class Import:
    """An import / mod / use edge; ``target`` is the resolved file, or None when external."""

    path: str
    text: str
    line: int
    target: str | None
    names: tuple[str, ...] = ()
    kind: str = ""  # Rust: mod, use, pub-use; Python: import, from

    def __reduce__(self) -> tuple[type[Import], tuple[object, ...]]:
        # As Definition's: one constructor call when the ranking tables' snapshot is loaded.
        return (Import, (self.path, self.text, self.line, self.target, self.names, self.kind))


@dataclass(frozen=True, slots=True)
class SymbolEdge:
    """References from one place to one definition, aggregated.

    ``source`` is the qualname of the definition holding the references (None at file level).
    ``weight`` is ``count`` split over the definitions the name could mean after disambiguation
    by imports (1.0 per reference when only one remains).
    """

    path: str
    source: str | None
    target_path: str
    target: str
    name: str
    count: int
    weight: float


@dataclass(slots=True)
class FileSymbols:
    path: str
    language: str
    content_hash: str
    size: int
    lines: int
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    error_nodes: int = 0
