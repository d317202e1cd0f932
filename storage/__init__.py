"""Storage adapters: content-addressed blob stores and the catalogue."""
