"""The site tests need a built book, Chromium and playwright: only `make book-test` runs them.

It sets ``AEHELPERS_BOOK=1``; without it (``make test``, plain ``pytest tests``) pytest does not
collect ``test_book_site.py``, so it can neither be skipped silently nor slow the everyday tests
down. ``test_book_build.py`` (the staging step, no browser) always runs.
"""

import os

if os.environ.get("AEHELPERS_BOOK") != "1":
    collect_ignore_glob = ["test_book_site.py"]
