"""Filing-kiosk web application; filled by its own issue."""
