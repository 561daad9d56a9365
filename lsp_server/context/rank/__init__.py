"""The ranking: which files and definitions matter for one request, cut to a token budget.

Request terms, BM25, PageRank over the reference graph, latent and embedding similarity, the
request-independent tables those read (kept per index, updated file by file), reciprocal-rank
fusion, and the builder that turns the ranking into snippets. It reads the index through the
small protocol in :mod:`tables` and imports :mod:`lsp_server.context.index`; the index never
imports this package.

Token counting (:mod:`lsp_server.context.tokens`) and the privacy filter
(:mod:`lsp_server.context.privacy`) stay beside the two packages, at ``lsp_server/context/``:
providers, the router and the edit checks use them too, not only the ranking.
"""
