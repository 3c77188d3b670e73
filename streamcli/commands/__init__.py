"""The family's subcommands beside the prompt command, one module each.

Each is registered in `family` with `family.add_command(...)` (or `family.add_lazy(...)`,
which imports it only when it runs); `streamcli NAME ...` runs it.
"""
