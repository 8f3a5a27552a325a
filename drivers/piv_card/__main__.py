"""Command line: plug a virtual officer card into pcscd's vpcd reader until Ctrl-C.

    python -m bts_desk.drivers.piv_card --pin 123456 --name 李海关 --officer-id GY860901 \\
        --district 8609 --ca-dir ./demo-card

The CA PEM (``<ca-dir>/ca.pem``) is what the desk must trust (``[card] ca_cert``). Type
``r`` + Enter to pull the card out, ``i`` + Enter to put it back, ``q`` to quit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .officer_card import (
    DEMO_CUSTOMS_CODE,
    DEMO_OFFICER_ID,
    DEMO_OFFICER_NAME,
    DEMO_PIN,
    load_or_make_ca,
    make_card,
)
from .pki import OfficerCredentials, issue_officer
from .vpcd import VPCD_HOST, VPCD_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bts_desk.drivers.piv_card", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pin", default=DEMO_PIN, help="card PIN, 6-8 digits")
    parser.add_argument("--tries", type=int, default=3, help="PIN tries left (0: blocked)")
    parser.add_argument("--name", default=DEMO_OFFICER_NAME, help="officer name (CN)")
    parser.add_argument("--officer-id", default=DEMO_OFFICER_ID, help="officer number")
    parser.add_argument("--district", default=DEMO_CUSTOMS_CODE, help="customs district code")
    parser.add_argument("--ca-dir", type=Path, default=Path("demo-card"), help="test CA folder")
    parser.add_argument("--no-piv", action="store_true", help="a card without the PIV app")
    parser.add_argument("--cert", type=Path, help="officer certificate (PEM or DER) to carry")
    parser.add_argument(
        "--key", type=Path, help="its private key (PEM: EC P-256/P-384 or RSA-2048), with --cert"
    )
    parser.add_argument(
        "--key-kind",
        choices=("p256", "p384", "rsa2048"),
        default="p256",
        help="key made for a new officer certificate (PIV algorithm 11, 14 or 07)",
    )
    parser.add_argument("--host", default=VPCD_HOST)
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd slot port")
    return parser


def load_credentials(cert_path: Path, key_path: Path) -> OfficerCredentials:
    """An officer certificate and key from files (e.g. issued by a site's test CA)."""
    raw = cert_path.read_bytes()
    if b"-----BEGIN" in raw:
        certificate = x509.load_pem_x509_certificate(raw)
    else:
        certificate = x509.load_der_x509_certificate(raw)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise SystemExit("--key must be an EC P-256/P-384 or an RSA-2048 private key")
    return OfficerCredentials(key=key, certificate=certificate)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (args.pin.isdigit() and 6 <= len(args.pin) <= 8):
        print("--pin must be 6 to 8 digits", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if (args.cert is None) != (args.key is None):
        print("--cert and --key go together", file=sys.stderr)
        return 2
    if args.cert is not None:
        credentials = load_credentials(args.cert, args.key)
    else:
        ca = load_or_make_ca(args.ca_dir)
        credentials = issue_officer(
            ca, args.name, args.officer_id, args.district, key_kind=args.key_kind
        )
        print(f"CA certificate for the desk: {(args.ca_dir / 'ca.pem').resolve()}")
    card = make_card(
        credentials,
        args.pin,
        tries=args.tries,
        has_piv=not args.no_piv,
        host=args.host,
        port=args.port,
        label=f"card of {args.officer_id}",
    )
    card.insert()
    print("r = remove card, i = insert card, q = quit")
    try:
        for line in sys.stdin:
            command = line.strip().lower()
            if command == "r":
                card.remove()
            elif command == "i":
                card.insert()
            elif command == "q":
                break
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
