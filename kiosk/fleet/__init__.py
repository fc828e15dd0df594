"""Fleet configuration (issue 9): signed, versioned settings bundles for many pillars. Plain Python, no Kivy.

- `bundle.py`: `Bundle`, `SignedBundle`, the wire format, `canonical_bytes` (what is signed),
  `LOCAL_ONLY` (keys the fleet never sets, and why), `MAX_BUNDLE_BYTES`.
- `canonical.py`: strict JSON reading and RFC 8785 canonical JSON.
- `keys.py`: Ed25519 key pairs, `sign_bundle`, `TrustedKeys` (every `config/fleet_keys/*.pub.pem`).
- `verify.py`: `parse_and_verify` -> `VerifiedBundle`, or `BundleRejected(reason, message)`
  (`errors.py`): size, JSON, schema, key, signature, then scope and version.
- `rollout.py`: `in_rollout`: which pillars apply a bundle at N percent (a stable hash).
- `merge.py`: `effective_settings(base, bundles)`: fleet < shop < kiosk on the config, and the
  locked keys for `SettingsEditor.set_locked` (staff overrides come last).
- `cli.py`: `kiosk fleet keygen|sign|verify|show`, the central team's tool.
"""
