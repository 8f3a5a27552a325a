"""USB fingerprint readers through libfprint 2 (Linux; registry name ``libfprint``).

- ``driver``: ``LibfprintScanner`` over ``gi.repository.FPrint`` (PyGObject; Debian's
  ``libfprint-2-2`` and ``gir1.2-fprint-2.0``), libfprint's own enroll / verify state machine
  behind the desk's ``FingerprintScanner`` interface;
- ``virtual_image``: the test bed: the person at libfprint's virtual image device
  (``FP_VIRTUAL_IMAGE``, a unix socket fed with 8-bit images), pressing the R30x emulator's
  synthetic fingers.

Windows Biometric Framework (design note, not built): a ``drivers/wbf`` package would call
``WinBioOpenSession`` (pool ``WINBIO_POOL_PRIVATE`` with the sensor's unit id, so enrollment
templates stay with the desk rather than the system database) through ctypes on
``winbio.dll``, and implement the same ``FingerprintScanner.enroll``: ``WinBioEnrollBegin``,
then ``WinBioEnrollCapture`` once per press (its ``WINBIO_E_BAD_CAPTURE`` reject details map
to RETRY events as libfprint's retry codes do here, ``WINBIO_I_MORE_DATA`` to the next
PRESS), ``WinBioEnrollCommit``; the different-finger check is ``WinBioVerify`` against finger
1's identity before enrolling finger 2, and the image, where the sensor adapter gives one,
comes from ``WinBioCaptureSample`` with ``WINBIO_PURPOSE_ENROLL`` and
``WINBIO_DATA_FLAG_RAW``. All calls block, so it would run on the ``ScannerWorker`` thread as
this driver does, and register in ``bts_desk/devices/registry.py`` as ``wbf``.
"""
