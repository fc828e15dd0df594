"""The catalog as the kiosk sees it: the retailer's whole range, kept locally so it works offline.

- `sync.CatalogSync`: full and delta sync from the central API into a local SQLite file
  (`catalog.sqlite` in the catalog folder), resumable, swapped in atomically.
- `store.CatalogStore`: the questions the screens ask of that file (also with the API down).
- `search`: the search index (FTS5 + facet bitsets) and queries.
- `schema`: the file's tables, and the one place products are written.
- `models`: what the package hands out (ProductSummary, SearchFilters, SearchResult).
"""
