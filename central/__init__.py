"""The reference central order API: FastAPI + SQLite.

This is three things at once:

- the reference implementation of the wire contract in `kiosk.contract` (a retailer with another
  platform implements the same routes, or an adapter for them);
- the contract's documentation: its OpenAPI document (`/openapi.json`) is generated from the
  contract models, and its error codes and rules are written down in `central/app.py`;
- the embedded default for `kiosk demo` and for the tests (`central.embedded.start_server`), with a
  deterministic demo catalog of any size, generated product pictures and a test card acquirer.

It may import `kiosk.contract` and nothing else of `kiosk`; the kiosk imports this package lazily,
only for `kiosk central` and `kiosk demo`, so a pillar never loads the server.
"""
