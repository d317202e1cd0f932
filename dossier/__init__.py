"""Dossier assembly: its own package because export, the CLI and later the kiosk all build volumes, and no single stage owns them."""
