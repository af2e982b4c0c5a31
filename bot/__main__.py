"""`python -m bot` is the same as the `plenum` command."""
import sys

from bot.cli import main

sys.exit(main())
