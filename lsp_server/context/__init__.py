"""The context engine: what the project contains, and what of it one request needs.

Two packages, layered: :mod:`lsp_server.context.index` (walk, parse, extraction, store,
resolution, the derived tables) and :mod:`lsp_server.context.rank` (terms, BM25, PageRank,
latent and embedding similarity, fusion, the snippet builder), which reads the index and is
never imported by it. Beside them: the context process that builds contexts off the language
server's GIL (:mod:`worker`), and pieces other parts of the product use as well: the editor
buffer overlay (:mod:`documents`), token counting (:mod:`tokens`) and the privacy filter
(:mod:`privacy`).
"""
