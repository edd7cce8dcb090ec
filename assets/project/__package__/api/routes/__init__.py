"""Routers; each declares its prefix and tags, and `create_app` includes them."""
