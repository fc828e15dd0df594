# The two commands of README.md. Both set the machine up themselves (scripts/setup.sh is idempotent).
.PHONY: setup demo test bench bench-ui screenshots clean

setup:
	@scripts/setup.sh

demo: setup
	@scripts/demo.sh $(ARGS)

test: setup
	@scripts/test.sh $(ARGS)

# A screenshot of every screen for README.md (docs/screenshots/), made by the autopilot under Xvfb.
screenshots: setup
	rm -rf docs/screenshots
	xvfb-run -a -s "-screen 0 1080x1920x24" .venv/bin/kiosk demo --autopilot --tour --seed-articles 300 \
		--db var/screenshots/central.sqlite --terminal simulated --screenshots docs/screenshots
	rm -rf var/screenshots

bench: setup
	.venv/bin/python bench/catalog.py
	.venv/bin/python bench/journal.py

# Touch-to-drawn and the longest UI-thread callbacks over 50 autopilot journeys at 100,000 articles
# (bench/ui.py; re-runs itself under Xvfb without a display; the seeded catalog is kept in var/bench/ui/).
bench-ui: setup
	.venv/bin/python bench/ui.py $(ARGS)

clean:
	rm -rf .venv var .pytest_cache
