#!/usr/bin/env python3
"""syncsvc command line: `python manage.py --help`."""

from syncsvc.cli import main

if __name__ == "__main__":
    main()
