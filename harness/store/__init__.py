"""Store: the results files (versioned JSON, atomic writes, migrations), their JSON Schemas and the
history index over a results folder.

May import the shared vocabulary (`harness.model`, `harness.errors`, `harness.config`) only: every
later stage reads and writes runs through here, so nothing here may depend on them.
"""
