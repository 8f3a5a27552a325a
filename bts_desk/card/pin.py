"""The officer card PIN's shape (卡密码: 6–8 digits), apart from the card code.

Kept in a module of its own so that the login screen, which must be usable within moments of
start-up, shows its PIN field without importing the card stack (cryptography, PC/SC)."""

from __future__ import annotations

PIN_MIN_LENGTH = 6
PIN_MAX_LENGTH = 8
