"""Classification: codes and separator sheets, identifiers, document types, document boundaries."""
