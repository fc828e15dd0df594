"""`kiosk fleet keygen|sign|verify|show`: the central team's tool for fleet configuration bundles.

    kiosk fleet keygen --out DIR [--name NAME]     NAME.key.pem (0600, keep it secret) and NAME.pub.pem
    kiosk fleet sign BUNDLE.json --key NAME.key.pem [--out FILE]
    kiosk fleet verify FILE [--keys DIR] [--kiosk-id ID --store-id ID] [--applied-version N] [--level L]
    kiosk fleet show FILE [--keys DIR]

`sign` takes the bundle object (kiosk/fleet/bundle.py) and writes the signed one (stdout without
--out); it refuses a bundle a kiosk would refuse, with the same reason. `verify` runs the kiosk's
own checks and exits 0, or 1 with `reason: message` on stderr. `show` prints what a bundle would
change and whether its signature holds. Exit 2: a configuration problem (e.g. the keys folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

EXIT_REFUSED = 1


def add_arguments(fleet_commands) -> None:
    """The `kiosk fleet ...` subcommands (for kiosk/__main__.py). Imports nothing heavy: the parser
    is built on every `kiosk` start."""
    keygen = fleet_commands.add_parser("keygen", help="make an Ed25519 key pair for signing bundles")
    keygen.add_argument("--out", type=Path, required=True, help="folder for NAME.key.pem and NAME.pub.pem")
    keygen.add_argument("--name", default="fleet", help="file name stem (default: %(default)s)")

    sign = fleet_commands.add_parser("sign", help="sign a bundle (the bundle object in, the signed bundle out)")
    sign.add_argument("bundle", type=Path, help="the bundle JSON, without signature")
    sign.add_argument("--key", type=Path, required=True, help="the private key (NAME.key.pem)")
    sign.add_argument("--out", type=Path, help="write the signed bundle here (default: stdout)")

    verify = fleet_commands.add_parser("verify", help="check a signed bundle as a kiosk would")
    verify.add_argument("file", type=Path)
    verify.add_argument("--keys", type=Path, help="trusted public keys folder (default: config/fleet_keys)")
    verify.add_argument("--kiosk-id", help="check the scope for this pillar (with --store-id)")
    verify.add_argument("--store-id", help="... standing in this shop")
    verify.add_argument("--applied-version", type=int, help="refuse a version not above this one (replay)")
    verify.add_argument("--level", choices=("fleet", "shop", "kiosk"), help="refuse a bundle of another level")

    show = fleet_commands.add_parser("show", help="what a bundle changes, and whether its signature holds")
    show.add_argument("file", type=Path, help="a signed bundle, or a bundle object not yet signed")
    show.add_argument("--keys", type=Path, help="trusted public keys folder (default: config/fleet_keys)")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror}") from None


class _Refused(Exception):
    pass


def _keygen(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.fleet.keys import generate_key_pair

    try:
        pair = generate_key_pair(args.out, args.name)
    except (ValueError, FileExistsError) as exc:
        raise _Refused(str(exc)) from None
    print(f"key id      {pair.key_id}", file=out)
    print(f"private key {pair.private_path}   (keep secret; signs bundles)", file=out)
    print(f"public key  {pair.public_path}   (put in every pillar's config/fleet_keys/)", file=out)
    return 0


def _sign(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.fleet.canonical import loads_strict
    from kiosk.fleet.keys import TrustedKeys, load_private_key, sign_bundle
    from kiosk.fleet.verify import check_signature, read_bundle

    try:
        document = loads_strict(_read(args.bundle))
    except ValueError as exc:
        raise _Refused(f"not_json: {args.bundle}: {exc}") from None
    if isinstance(document, dict) and {"key_id", "signature"} & set(document):
        raise _Refused(f"{args.bundle} is already signed: give the bundle object (its \"bundle\" member)")
    key = load_private_key(args.key)
    signed = sign_bundle(document, key)  # BundleRejected("schema") for a bundle a kiosk would refuse
    text = signed.to_json()
    # What the pillars will read, checked as they will (the size too), with this key's public half.
    read = read_bundle(text.encode("utf-8"))
    check_signature(read, TrustedKeys.of([key.public_key()]))
    if args.out:
        _publish(args.out, text)
        print(f"signed {read.bundle.scope.kind} bundle version {read.bundle.version} with key {signed.key_id}: "
              f"{args.out}", file=sys.stderr)
    else:
        out.write(text)
    return 0


def _publish(path: Path, text: str) -> None:
    """Write the signed file as docs/fleet.md asks of a publisher: beside it, then renamed over, so a
    server reading the folder never serves half a bundle (its folder is made when missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")  # hidden: the server never serves dot files
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise _Refused(f"cannot write {path}: {exc.strerror or exc}") from None


def _trusted(directory: Path | None):
    from kiosk.fleet.keys import TRUSTED_KEYS_DIR, TrustedKeys

    return TrustedKeys.load(directory or TRUSTED_KEYS_DIR)


def _rollout_line(bundle, kiosk_id: str | None) -> str:
    from kiosk.fleet.rollout import bucket, in_rollout, threshold

    rollout = bundle.rollout
    if rollout is None:
        return "every pillar in scope"
    line = f"{rollout.percent:g}% (salt {rollout.salt!r}: buckets below {threshold(rollout)} of 10000)"
    if kiosk_id:
        inside = "in" if in_rollout(kiosk_id, rollout) else "not in (yet)"
        line += f"; pillar {kiosk_id} is {inside} (bucket {bucket(kiosk_id, rollout.salt)})"
    return line


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.fleet.verify import check_level, check_scope, check_version, verify_signed

    if (args.kiosk_id is None) != (args.store_id is None):
        raise _Refused("give --kiosk-id and --store-id together (a pillar and the shop it stands in)")
    trusted = _trusted(args.keys)
    verified = verify_signed(_read(args.file), trusted)
    bundle = verified.bundle
    if args.kiosk_id is not None:
        check_scope(bundle, kiosk_id=args.kiosk_id, store_id=args.store_id, level=args.level)
    else:
        check_level(bundle, args.level)
    check_version(bundle, args.applied_version)
    print(f"ok: {bundle.scope.kind} bundle version {bundle.version} ({bundle.scope.describe()}), "
          f"signed with trusted key {verified.key_id}", file=out)
    print(f"rollout: {_rollout_line(bundle, args.kiosk_id)}", file=out)
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.fleet.bundle import parse_bundle
    from kiosk.fleet.canonical import loads_strict
    from kiosk.fleet.errors import BundleRejected
    from kiosk.fleet.verify import check_signature, read_bundle

    raw = _read(args.file)
    try:
        document = loads_strict(raw)
    except ValueError as exc:
        raise _Refused(f"not_json: {exc}") from None
    if isinstance(document, dict) and "bundle" in document:
        read = read_bundle(raw)
        bundle = read.bundle
        try:
            verified = check_signature(read, _trusted(args.keys))
            signature = f"ok (trusted key {verified.key_id})"
        except BundleRejected as exc:
            signature = f"NOT OK: {exc}"
        key = read.envelope.key_id
    else:
        bundle, key, signature = parse_bundle(document), "-", "none (a bundle object, not signed yet)"
    rows = [
        ("version", str(bundle.version)),
        ("scope", bundle.scope.describe()),
        ("rollout", _rollout_line(bundle, None)),
        ("locked", ", ".join(bundle.locked) or "-"),
        ("created", bundle.created_at.isoformat()),
        ("note", bundle.note or "-"),
        ("key id", key),
        ("signature", signature),
    ]
    for name, value in rows:
        print(f"{name:<10} {value}", file=out)
    changes = bundle.changes_json()
    print(f"settings   {len(changes)} changed" + (":" if changes else ""), file=out)
    for name, value in changes.items():
        print(f"  {name} = {json.dumps(value, ensure_ascii=False)}", file=out)
    return 0


def main(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    from kiosk.fleet.errors import BundleRejected

    out = stdout or sys.stdout
    commands = {"keygen": _keygen, "sign": _sign, "verify": _verify, "show": _show}
    try:
        return commands[args.fleet_command](args, out)
    except (BundleRejected, _Refused) as exc:
        print(f"kiosk fleet {args.fleet_command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
