"""fastapi-advanced-patterns: the create-fastapi-app generator and its helpers."""

__version__ = "0.4.0"
