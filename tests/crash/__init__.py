"""The crash test: a kiosk process without a window, SIGKILLed at random points while it pays and
orders against the reference server in another process (issue 4, point 7).

- `worker.py`: the kiosk (journal + checkout + outbox, simulated card terminal, a fault injector
  between it and the server); prints one line per event so the harness can aim its kills.
- `harness.py`: starts the server, starts and kills the worker `kills` times, recovers once more,
  then audits the central database. `python -m tests.crash.harness --kills 200 --seed N`.
"""
