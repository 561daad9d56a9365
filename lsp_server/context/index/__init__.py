"""The index: what a project contains, kept current from the disk and the editor's buffers.

The workspace walk, the parse pool, tree-sitter extraction, incremental re-parsing of open
buffers, the SQLite store, import resolution (Rust, Python) and the tables derived from all of
that (names, file edges, reference edges). Languages are data here (:mod:`languages`, the
``queries/*.scm`` files). :class:`~lsp_server.context.index.project.ProjectIndex` is the one
entry point; the other modules are its parts.

The index knows nothing of requests or ranking: :mod:`lsp_server.context.rank` reads it, never
the reverse (``tests/context/test_layering.py`` holds both to that).
"""
