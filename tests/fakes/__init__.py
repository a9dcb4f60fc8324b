"""Local HTTP servers that speak outside services' wire formats, for tests."""
