"""The desk's enrollment (``EnrollmentDraft``) as its CBEFF envelope: the upload path's one
call, ``envelope_of``.

The captures carry what their driver knew; this module only fills what an older capture (made
before the field existed, still waiting in an outbox) cannot tell:

- finger position: a capture without one (``UNKNOWN``) is filed under its slot's default
  finger (``FingerCapture.iso_position``: 指纹1 右手食指, 指纹2 左手食指), the finger the 补录
  dialog asks for unless the officer chooses another;
- bit depth: read from the image itself (only the 16 levels a 4-bpp module produces → 4);
- resolution: ``ASSUMED_DPI`` (500 ppi, the R30x family's sensors) when the driver gave none;
- the face's eye centres: only when the capture has them (token portrait); otherwise the
  record says full frontal without feature points.

Pure functions; runs on the sync worker thread (never the GUI thread).
"""

from __future__ import annotations

from bts_desk.biometrics import builder
from bts_desk.domain import EnrollmentDraft, FaceCapture, FingerCapture

ASSUMED_DPI = 500


def finger_source(capture: FingerCapture, draft: EnrollmentDraft) -> builder.FingerSource:
    return builder.FingerSource(
        position=capture.iso_position,
        image_png=capture.image_png,
        bits_per_pixel=capture.bits_per_pixel,  # 0: the builder reads it off the image
        dpi=capture.dpi or ASSUMED_DPI,
        template=capture.template,
        module_family=draft.scanner_model or "unknown",
        template_format=capture.template_format or "unknown",
        quality=capture.press_quality[-1] if capture.press_quality else None,
        device=f"{draft.scanner_model}#{draft.scanner_serial}" if draft.scanner_model else "",
    )


def face_source(face: FaceCapture, draft: EnrollmentDraft) -> builder.FaceSource:
    eyes = getattr(face, "eyes", None)
    subject_eyes = None
    if eyes is not None:
        (ix, iy), (jx, jy) = eyes  # image-left (the person's right), image-right (left)
        subject_eyes = ((round(jx), round(jy)), (round(ix), round(iy)))
    roll = face.quality.get("eye_tilt_deg")
    return builder.FaceSource(
        jpeg=face.jpeg,
        eyes=subject_eyes,
        token=subject_eyes is not None,
        roll_deg=None if roll is None else float(roll),
        device=draft.camera_name,
    )


def envelope_of(draft: EnrollmentDraft, *, verify: bool = False) -> bytes:
    """The enrollment's CBEFF envelope (UTF-8 XML). Deterministic: the same draft always gives
    the same bytes (creation time = capture time), so a retried upload has the same body.
    ``RecordError`` if a capture cannot be recorded. Not parsed back by default: the upload
    path is timed (``sync_bench``), the service parses every envelope, and the tests prove the
    writer and the parser agree."""
    fingers = tuple(finger_source(f, draft) for f in draft.fingers)
    face = None if draft.face is None else face_source(draft.face, draft)
    return builder.envelope(
        draft.uuid, draft.captured_at, fingers, face, exceptions=draft.exceptions, verify=verify
    )
