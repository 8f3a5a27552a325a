"""Biometric records any matcher can read (Qt-free, any thread).

- ``iso19794_4``: ISO/IEC 19794-4:2005 finger image records (writer, strict parser);
- ``iso19794_5``: ISO/IEC 19794-5:2005 face image records (writer, strict parser);
- ``cbeff``: the CBEFF (ISO/IEC 19785-3 XML patron format) envelope of one enrollment;
- ``builder``: the desk's captures → records → envelope;
- ``errors``: ``RecordError`` with its precise ``RecordErrorCode``.
"""
