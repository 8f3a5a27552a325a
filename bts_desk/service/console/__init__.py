"""IT's fleet console (server-rendered pages, administrators, ``bts-sync-server admin``)."""
