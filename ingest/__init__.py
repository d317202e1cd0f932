"""Ingestion: the one pipeline every page goes through, its queue and its command line."""
