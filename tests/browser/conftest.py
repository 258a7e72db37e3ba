"""The browser tests need Chromium and playwright and take a minute: only `make browser-test` runs them.

It sets ``AEHELPERS_BROWSER=1``; without it (``make test``, plain ``pytest tests``) pytest does
not even collect them, so they can neither be skipped silently nor slow the everyday tests down.
"""

import os

if os.environ.get("AEHELPERS_BROWSER") != "1":
    collect_ignore_glob = ["test_*.py"]
