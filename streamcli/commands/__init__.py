"""The subcommands of the command family beside the prompt command (`family.add_command`)."""
