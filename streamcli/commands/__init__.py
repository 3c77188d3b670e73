"""The family's subcommands beside the prompt command, one module each.

Each is registered in `family` with `family.add_command(...)`; `streamcli NAME ...` runs it.
"""
