"""`python -m streamcli`: the same entry point as the installed console script."""

from streamcli.entry import main

main()
