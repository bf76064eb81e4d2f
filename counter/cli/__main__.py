from counter.cli import main

main()
