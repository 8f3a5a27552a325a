"""EF 01 serial fingerprint modules: Synochip AS608, ZhianTec ZFM-20, Grow R307/R503 and
compatibles (registry name ``r30x``).

- ``protocol``: framing, checksums, the streaming parser and the confirmation codes;
- ``driver``: ``R30xScanner`` over pyserial (``bts_desk.devices.fingerprint``'s interface);
- ``emulator``: the module on a pty for tests and the demo
  (``python -m bts_desk.drivers.r30x.emulator --auto``); POSIX only;
- ``fingerimage``: the emulator's synthetic prints, its Img2Tz / Match / RegModel;
- ``minutiae``: the emulated module's minutiae extraction, char files and matcher.
"""
