"""Declarative settings files (defaults, taxonomy, stages) and the typed settings object that reads them."""
