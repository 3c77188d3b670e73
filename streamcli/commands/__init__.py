"""The subcommands of the command family (`family.add_command`), one module each."""
