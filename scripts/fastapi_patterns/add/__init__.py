"""`fastapi-patterns add`: bring the bundle's patterns into an existing FastAPI app.

The stages, one module each: `locate` finds the app to wire (read-only, through the
detector); `patterns` says what each pattern adds (modules rendered from the bundle's own
templates, and the wiring lines); `wiring` patches the app's module with libcst, adding
only imports and calls, so every other byte stays as it was; `record` keeps the added
modules' hashes in `.create-fastapi-app.yml`; `gitstate` and `notes` say what git and the
app's own middleware mean for the run; `engine` puts them together: plan, refuse what it
cannot do safely, show a diff or write everything at once.

Nothing is imported here: `patterns` is read by the command parser, which must build with
the standard library alone; `engine` needs jinja2, libcst and ruamel.yaml.
"""
