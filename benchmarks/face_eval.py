"""Face gate evaluation on real photographs, against OpenCV's stock cascade in the same run.

Prints one JSON line. The set (``tests/face_photos.py``: what is in it, where each photograph
comes from and its licence) is built from photographs shipped inside packages that
``./dev.sh setup`` installs (scikit-image, matplotlib, Debian's visp-images-data); nothing is
downloaded.

For the gate (``FaceGate``, still-photo mode) and for the baseline (OpenCV's
``haarcascade_frontalface_default.xml`` run plainly with its default parameters on a grey copy
640 px wide):

- ``one_face_recall``: share of one-face photographs where exactly one face is found;
- ``two_face_as_several``: share of photographs of two or more people reported as several faces
  (the gate's hint there is 检测到多张人脸); ``*_no_tiny`` without the photographs whose faces
  are all smaller than the gate looks for (the whole 1927 group photograph);
- ``non_faces_with_a_face``: photographs without a frontal face where a face was found;
- ``non_faces_accepted`` (gate only): of those, how many the gate passed as 可以拍照;
- ``gate_misses``: the photographs the gate got wrong, by name (``stock_misses``: how many the
  baseline got wrong).

    python benchmarks/face_eval.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from face_photos import evaluation_set, misses, score, stock_cascade_counter

from bts_desk.capture.face import FaceGate


def main() -> None:
    photos = evaluation_set()
    gate, stock = FaceGate(), stock_cascade_counter()
    counts: dict[str, int] = {}
    accepted: dict[str, bool] = {}
    baseline: dict[str, int] = {}
    started = time.perf_counter()
    for photo in photos:
        grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY)
        counts[photo.name] = len(gate.detect_faces(grey))
        accepted[photo.name] = gate.check(photo.image).ok
        baseline[photo.name] = stock(photo.image)
    result = {
        "bench": "face_eval",
        "photos": {kind: sum(p.kind == kind for p in photos) for kind in ("one", "two", "none")},
        "gate": {k: round(v, 3) for k, v in score(counts, accepted).items()},
        "stock_cascade_640": {k: round(v, 3) for k, v in score(baseline).items()},
        "gate_misses": misses(counts),
        "stock_misses": len(misses(baseline)),
        "seconds": round(time.perf_counter() - started, 1),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "opencv": cv2.__version__,
        "target": "gate one_face_recall >= stock's, non_faces_accepted == 0, "
        "two_face_as_several_no_tiny == 1",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
