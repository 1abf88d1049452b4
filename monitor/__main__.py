"""`python -m monitor` runs the socmon CLI."""

from monitor.cli import main

main()
