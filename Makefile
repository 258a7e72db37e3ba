# Two commands: `make lab` (set up, start the lessons) and `make test` (set up, run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab test unit readme execute benchmark clean doctor trained-test

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# JupyterLab refuses to run as root unless told: only then add --allow-root.
lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Unit tests and every notebook in quick mode (nbval compares the cells marked NBVAL_CHECK_OUTPUT).
test: setup
	$(BIN)/ruff check .
	AEHELPERS_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 tests notebooks --ignore=notebooks/exercises
	$(MAKE) trained-test

# Every lesson whose weights are shipped, in full but with AEHELPERS_TRAINED_WEIGHTS=1: nothing trains,
# every cell must still run (on 2 cores, under 2 minutes a lesson, except lesson 6: about 8, most of it its two
# likelihood estimates; its long-run scoring cell took 4.1 minutes in the stored run and 8.5 in a slow stretch of
# the same machine, hence the long cell timeout).
trained-test: setup
	lessons="$$($(BIN)/python -c 'import aehelpers.weights as w; print(*w.lessons_with_weights())')"; test -z "$$lessons" || \
	AEHELPERS_TRAINED_WEIGHTS=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 $$lessons

# What is wrong with this set-up, with a fix for each problem (exit 1 when something blocks the lessons).
# Another data folder: make doctor DATA=/path/to/data. No dependency on setup: it must run when the install is broken.
doctor:
	@test -x $(BIN)/python || { echo "No $(VENV) yet: run 'make setup' first."; exit 1; }
	$(BIN)/python -m aehelpers.doctor $(if $(DATA),--data $(DATA))

unit: setup
	$(BIN)/python -m pytest tests

# Rebuild the README's lesson table from notebooks/results/*.json
readme: setup
	$(BIN)/python -m aehelpers.update_readme

# Re-run one notebook in full and store its outputs, results and shipped weights (the course's record):
# make execute NB=notebooks/01_conv_autoencoder.ipynb
execute: setup
	AEHELPERS_RECORD_RUN=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 \
		--ExecutePreprocessor.store_widget_state=True $(NB)
	@echo "Written by the recording run (results, weights, curves):"; git status --short notebooks/results weights
	$(MAKE) readme

# Course way vs aehelpers way, side by side, lesson 1 with 3 seeds (about 70 minutes on 2 cores); writes benchmarks/results/
benchmark: setup
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) .pytest_cache

# Every lesson as a learner sees it, in JupyterLab in headless Chromium (about 2 minutes on 2 cores);
# then the tests that prove it fails on planted mistakes. Screenshots: tests/browser/screenshots/.
# The README's screenshot is made when missing: delete notebook_ims/jupyterlab_lesson01.png to renew it.
README_SCREENSHOT := notebook_ims/jupyterlab_lesson01.png
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: browser-test
browser-test: setup
	$(BIN)/python -m pip install --quiet -r requirements-browser.txt
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	$(BIN)/python tests/browser/browser_check.py notebooks/*.ipynb $(wildcard notebooks/solutions/*.ipynb) \
		$(if $(wildcard $(README_SCREENSHOT)),,--readme-screenshot $(README_SCREENSHOT)) \
		$(if $(wildcard notebooks/exercises/*.ipynb),--open-only $(wildcard notebooks/exercises/*.ipynb))
	AEHELPERS_BROWSER=1 $(BIN)/python -m pytest tests/browser -q

# The course as a static, offline site: Jupyter Book 1 from the notebooks' stored outputs, nothing
# executed (about 20 s on 2 cores). Open build/book/_build/html/index.html, or `make book-serve`.
# `make book-test` opens every page in headless Chromium (links, images, figures, math, search,
# no request leaving the site), then the tests that prove it fails on planted mistakes.
BOOK_HTML := build/book/_build/html
BOOK_STAMP := $(VENV)/.book-installed
BOOK_PORT ?= 8000
.PHONY: book book-serve book-test

# requirements.txt as constraints: the book's packages never change the lessons' environment.
$(BOOK_STAMP): requirements-book.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-book.txt -c requirements.txt
	touch $(BOOK_STAMP)

$(BOOK_HTML)/index.html: $(BOOK_STAMP) $(wildcard notebooks/*.ipynb notebooks/exercises/*.ipynb \
		notebooks/solutions/*.ipynb book/*.md book/*.yml book/*.py book/_ext/*.py aehelpers/*.py)
	$(BIN)/python book/build.py

book: $(BOOK_HTML)/index.html

book-serve: book
	@echo "The course: http://127.0.0.1:$(BOOK_PORT)/ (Ctrl-C stops the server)"
	$(BIN)/python -m http.server $(BOOK_PORT) --bind 127.0.0.1 --directory $(BOOK_HTML)

book-test: book
	$(BIN)/python -m pip install --quiet -r requirements-browser.txt
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	$(BIN)/python tests/book/book_check.py $(BOOK_HTML) --screenshots build/book/screenshots
	AEHELPERS_BOOK=1 $(BIN)/python -m pytest tests/book -q
