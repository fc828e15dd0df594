"""Staff on the pillar (issue 8): who may log in, how, and what they may change. Plain Python, no Kivy.

- `pins.py`: `hash_pin`, `verify_pin`: PINs are kept only as salted scrypt hashes
  (`scrypt$n=16384,r=8,p=1$<salt>$<hash>`), made by `kiosk staff hash-pin` (`cli.py`).
- `directory.py`: `StaffDirectory`: the config's `[[staff.members]]`, merged with the central staff
  list (`with_central`); finds a member by badge.
- `auth.py`: `StaffGate`: log in by PIN or badge, lock PIN entry after wrong PINs (through a
  restart), `StaffSession` with its idle timeout, log out.
- `overrides.py`: `SettingsEditor`: the settings staff may change (`EDITABLE`), validated by the
  config's own models, refused when the fleet locks them; `effective(base)` applies them.
- `audit.py`: `AuditLog`: every login, logout, wrong PIN, lockout and change: who, what, old, new, when.
- `store.py`, `records.py`: `StaffStore`, the crash-safe `staff.json` next to the order journal
  (overrides, audit, lockout), and the pydantic models of what it holds.

Wiring (the app does this; screens only forward intents):

    store = StaffStore.for_settings(settings)
    directory = StaffDirectory.from_config(settings.staff)
    gate = StaffGate.from_settings(settings, directory, store)
    editor = SettingsEditor(store, locked=fleet_locked_keys)
    settings = editor.effective(settings)

Never a PIN in clear: not in the config (hash only), not in the store, not in a log or error message.

This package's `__init__` imports nothing: `kiosk.config` imports `kiosk.staff.pins` to check hashes,
and the modules here import `kiosk.config`.
"""
