# Every target builds .venv on first use and reinstalls when pyproject.toml changes,
# so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
ARGS ?=
PYTEST_ARGS ?= -n 2

.PHONY: serve test lint typecheck demo bench experiment fuzz soak screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@ $(RUN_STAMP)

serve: $(RUN_STAMP)
	$(BIN)/fakeserver serve $(ARGS)

demo: $(RUN_STAMP)
	$(BIN)/python -m fakeserver.demo

# The README's fault experiment: four clients against the built-in matrix. The table goes to
# stdout; report.html, report.json and every run's transcripts to reports/experiment/.
EXPERIMENT_CLIENT := --host {host} --port {port} --tls {tls} --cafile {cafile} --user {user} \
	--password-env SMTPRIG_PASSWORD --from {user} --to friend@example.org

experiment: $(RUN_STAMP)
	$(BIN)/fakeserver experiment --out reports/experiment --html reports/experiment/report.html \
		--client 'smtpclient=$(BIN)/smtpclient send $(EXPERIMENT_CLIENT) --timeout {timeout} --transcript {transcript} --quiet' \
		--client 'smtplib=$(BIN)/python examples/clients/smtplib_client.py $(EXPERIMENT_CLIENT) --timeout {timeout}' \
		--client 'smtplib-lax=$(BIN)/python examples/clients/smtplib_client.py $(EXPERIMENT_CLIENT) --timeout {timeout} --lax-tls' \
		--client 'naive=$(BIN)/python examples/clients/naive_seed_client.py $(EXPERIMENT_CLIENT)' \
		$(ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench.run $(ARGS)

# Every fuzz target for a fixed number of inputs from a fixed seed; ARGS="session --inputs 500".
fuzz: $(TEST_STAMP)
	$(BIN)/python -m fuzz $(ARGS)

# 10,000 messages over 200 concurrent connections under random faults, each accounted for;
# then the idle crowd; then the hostile clients of issue 16: floods, dot lines, drips, large
# messages (bench/hostile.py; alone: python -m bench.hostile; ARGS=--no-hostile skips them).
soak: $(TEST_STAMP)
	$(BIN)/python -m bench.soak $(ARGS)

# The README's picture of the inbox with three messages, taken in Debian's chromium (which
# .ci/run installs: apt-get install chromium).
screenshot: $(TEST_STAMP)
	$(BIN)/python -m tests.http.screenshot examples/http/inbox.png

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
