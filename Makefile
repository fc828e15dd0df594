# The two commands of README.md. Both set the machine up themselves (scripts/setup.sh is idempotent).
.PHONY: setup demo test clean

setup:
	@scripts/setup.sh

demo: setup
	@scripts/demo.sh $(ARGS)

test: setup
	@scripts/test.sh $(ARGS)

clean:
	rm -rf .venv var .pytest_cache
