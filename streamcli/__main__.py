from streamcli.entry import main

main()
