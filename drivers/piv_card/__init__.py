"""The virtual officer card: a PIV card emulator behind the real pcscd (vsmartcard vpcd).

- ``applet.PivApplet``: the card's PIV application (APDU in, R-APDU out);
- ``vpcd.VirtualPivCard``: the card in a vpcd slot, ``insert()`` / ``remove()``;
- ``officer_card``: ``make_card`` and ``start_demo_card`` (demo officer 李海关, PIN 123456);
- ``pcscd``: ``ensure_pcscd`` / ``stop_pcscd`` where nothing starts pcscd (demo, CI);
- ``pki``: the throw-away test CA and officer certificates;
- ``python -m bts_desk.drivers.piv_card``: a card for people, on the command line.

The core never imports this package (it is the far end of the PC/SC stack).
"""
