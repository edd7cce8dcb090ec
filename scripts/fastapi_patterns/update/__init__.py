"""`fastapi-patterns update`: bring a generated project to the bundle's templates.

BASE is the project as its recorded generator version wrote it (rebuilt from that
version's snapshot), THEIRS is what the bundle writes now, OURS is the project on disk;
each file is merged on its own (`plan.py`), then written as a set (`apply.py`).
"""
