"""Scanner and capture-device adapters (SANE, eSCL, hot folders, document camera); filled by their own issue."""
