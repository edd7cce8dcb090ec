"""Use cases, one class per resource; routes get them from `api.deps`."""
