# The two commands of README.md. Both set the machine up themselves (scripts/setup.sh is idempotent).
.PHONY: setup demo test bench clean

setup:
	@scripts/setup.sh

demo: setup
	@scripts/demo.sh $(ARGS)

test: setup
	@scripts/test.sh $(ARGS)

bench: setup
	.venv/bin/python bench/catalog.py
	.venv/bin/python bench/journal.py

clean:
	rm -rf .venv var .pytest_cache
