"""The subcommands of the family beside the prompt command (`streamcli NAME ...`), one
module each, registered in `family` with `family.add_command(...)`."""
