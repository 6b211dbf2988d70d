"""Run logwatch as `python -m logwatch`."""

from logwatch.cli import main

main()
