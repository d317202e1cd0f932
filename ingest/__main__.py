"""`python -m ingest` runs the edossier command line."""
from ingest.cli import main

main()
