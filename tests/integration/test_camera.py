"""The OpenCV camera driver and the camera worker on real file / image-sequence sources
(OpenCV's own VideoCapture at the far end, no mocks)."""

from __future__ import annotations

import functools
import gc
import http.server
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bts_desk.config import CameraSettings
from bts_desk.devices.camera import (
    CameraMonitor,
    CameraState,
    CameraWorker,
    LatestSlot,
    camera_factory,
)
from bts_desk.devices.status import DeviceKind, DeviceStatus
from bts_desk.drivers.camera_standin import demo_camera_source
from bts_desk.drivers.opencv_camera import OpenCvCamera, device_backends, list_cameras
from bts_desk.errors import CameraError, ConfigError, DeskError


def numbered_frame(index: int) -> np.ndarray:
    """A 640×480 frame whose number can be read back (grey level = index * 5)."""
    return np.full((480, 640, 3), (index * 5) % 250, np.uint8)


def frame_number(image: np.ndarray) -> int:
    return round(float(image.mean()) / 5)


def write_video(path: Path, frames: int, fps: float = 25.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for index in range(frames):
        writer.write(numbered_frame(index))
    writer.release()
    return path


def write_sequence(folder: Path, frames: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        cv2.imwrite(str(folder / f"img_{index:03d}.jpg"), numbered_frame(index))
    return str(folder / "img_%03d.jpg")


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_video_file_plays_in_order_then_ends(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 12)
    camera = OpenCvCamera(str(source), realtime=False)
    camera.open()
    numbers = [frame_number(camera.read()) for _ in range(12)]
    assert numbers == list(range(12))
    with pytest.raises(CameraError) as info:
        camera.read()
    assert info.value.user_message == "视频源已结束"
    camera.close()
    camera.close()  # idempotent


def test_looping_file_starts_again(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 5)
    camera = OpenCvCamera.from_settings(CameraSettings(source=str(source), loop=True))
    camera.realtime = False
    camera.open()
    numbers = [frame_number(camera.read()) for _ in range(12)]
    assert numbers == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


def test_file_is_paced_at_its_frame_rate(tmp_path: Path) -> None:
    camera = OpenCvCamera(str(write_video(tmp_path / "clip.avi", 10, fps=50.0)))
    camera.open()
    started = time.monotonic()
    for _ in range(10):
        camera.read()
    assert time.monotonic() - started >= 9 / 50 * 0.9  # not decoded as fast as possible


def test_image_sequence_source(tmp_path: Path) -> None:
    camera = OpenCvCamera(write_sequence(tmp_path / "seq", 4), realtime=False)
    camera.open()
    assert [frame_number(camera.read()) for _ in range(4)] == [0, 1, 2, 3]
    assert camera.name == "OpenCV file img_%03d.jpg"


def test_missing_sources_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CameraError) as info:
        OpenCvCamera(str(tmp_path / "nothing.avi")).open()
    assert "找不到摄像头视频源" in info.value.user_message
    with pytest.raises(CameraError) as info:
        OpenCvCamera("9").open()  # no such webcam on this machine
    assert "请检查摄像头是否已连接" in info.value.user_message
    (tmp_path / "junk.avi").write_bytes(b"not a video at all" * 100)
    with pytest.raises(CameraError):
        OpenCvCamera(str(tmp_path / "junk.avi")).open()


def test_factory_from_settings_and_unknown_driver(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 3)
    camera = camera_factory(CameraSettings(source=str(source)))()
    assert isinstance(camera, OpenCvCamera) and camera.name == "OpenCV file clip.avi"
    with pytest.raises(ConfigError):
        camera_factory(CameraSettings(driver="nope"))


def test_latest_slot_keeps_only_the_newest() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for value in range(5):
        slot.put(value)
    assert slot.take() == 4 and slot.take() is None
    assert slot.dropped == 4


def test_slow_consumer_gets_the_newest_frame_and_no_backlog(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 40)
    analysed: list[int] = []

    def analyse(image: np.ndarray) -> int:
        analysed.append(frame_number(image))
        return frame_number(image)

    def factory() -> OpenCvCamera:  # paced at 25 fps like a webcam
        return OpenCvCamera(str(source), loop=True)

    worker: CameraWorker[int] = CameraWorker(factory, analyse)
    worker.start()
    taken = []
    try:
        for _ in range(8):
            time.sleep(0.15)  # a GUI far slower than the camera (~4 frames per poll)
            wait_for(lambda: worker.frames > 0)
            packet = worker.take_latest()
            if packet is not None:
                taken.append(packet)
                # What we got is the newest frame at the time we took it (or the one just
                # after): never something queued from long ago.
                assert packet.seq >= worker.frames - 1
                assert packet.analysis == frame_number(packet.image)
    finally:
        worker.stop()
    seqs = [p.seq for p in taken]
    assert len(taken) >= 6 and seqs == sorted(set(seqs))
    assert worker.dropped > 0 and worker.frames > len(taken) * 2
    assert worker.state is CameraState.STOPPED


def test_analyse_every_other_frame(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 10)
    calls: list[int] = []
    worker: CameraWorker[int] = CameraWorker(
        lambda: OpenCvCamera(str(source), realtime=False),
        lambda image: calls.append(1) or len(calls),
        analyse_every=2,
    )
    worker.start()
    wait_for(lambda: worker.state is CameraState.FAILED)
    assert worker.frames == 10 and len(calls) == 5


def test_source_ending_mid_preview_reports_and_retry_restarts(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 6)
    states: list[tuple[CameraState, DeskError | None]] = []
    changed = threading.Event()

    def on_state(state: CameraState, error: DeskError | None) -> None:
        states.append((state, error))
        changed.set()

    worker: CameraWorker[None] = CameraWorker(
        lambda: OpenCvCamera(str(source), realtime=False), on_state=on_state
    )
    worker.start()
    wait_for(lambda: worker.state is CameraState.FAILED)
    assert [s for s, _ in states] == [CameraState.STARTING, CameraState.RUNNING, CameraState.FAILED]
    assert worker.error is not None and worker.error.user_message == "视频源已结束"
    worker.start()  # the panel's 重试
    wait_for(lambda: worker.frames > 0)
    wait_for(lambda: worker.state is CameraState.FAILED)
    assert worker.frames == 6


def test_sequence_deleted_during_preview_fails_cleanly(tmp_path: Path) -> None:
    pattern = write_sequence(tmp_path / "seq", 30)
    worker: CameraWorker[None] = CameraWorker(lambda: OpenCvCamera(pattern, loop=True))
    worker.start()
    wait_for(lambda: worker.frames >= 3)
    for image in (tmp_path / "seq").iterdir():
        image.unlink()  # the "camera" goes away while the preview runs
    wait_for(lambda: worker.state is CameraState.FAILED)
    assert worker.error is not None and isinstance(worker.error, CameraError)
    worker.stop()
    assert worker.state is CameraState.FAILED  # stop keeps the error for the device panel


def test_missing_source_fails_then_retry_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "later.avi"
    worker: CameraWorker[None] = CameraWorker(lambda: OpenCvCamera(str(path), realtime=False))
    worker.start()
    wait_for(lambda: worker.state is CameraState.FAILED)
    assert worker.error is not None
    assert worker.error.user_message.startswith("找不到摄像头视频源")
    write_video(path, 30)
    worker.start()
    wait_for(lambda: worker.frames > 0)
    worker.stop()
    assert worker.state is CameraState.STOPPED and worker.error is None


def test_demo_source_is_made_once(tmp_path: Path) -> None:
    first = demo_camera_source(tmp_path)
    stamp = Path(first).stat().st_mtime_ns
    assert demo_camera_source(tmp_path) == first and Path(first).stat().st_mtime_ns == stamp
    camera = OpenCvCamera(first, realtime=False)
    camera.open()
    assert camera.read().shape == (720, 1280, 3)  # what the desk asks of a webcam
    camera.close()


def test_monitor_probes_and_follows_the_preview(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 8)
    monitor = CameraMonitor(CameraSettings(source=str(tmp_path / "none.avi")))
    seen: list[DeviceStatus] = []
    monitor.subscribe(seen.append)
    assert monitor.status().kind is DeviceKind.CAMERA and not monitor.status().ok
    monitor.restart()
    wait_for(lambda: "找不到" in monitor.status().summary_zh)
    assert monitor.status().port.endswith("none.avi") and monitor.status().driver == "opencv"
    monitor.reconfigure(CameraSettings(source=str(source)))
    wait_for(lambda: monitor.status().ok)
    assert "clip.avi: 640x480" in monitor.status().detail
    worker: CameraWorker[None] = CameraWorker(monitor.factory)
    monitor.watch(worker)
    worker.start()  # the file ends after 8 frames: the panel shows it red
    wait_for(lambda: not monitor.status().ok)
    assert monitor.status().summary_zh == "视频源已结束"
    assert [s.ok for s in seen][-3:] == [True, True, False]  # probe, preview, end


def test_monitor_shows_the_camera_free_after_a_preview_stops(tmp_path: Path) -> None:
    """Photo taken, dialog closed: the panel must not keep saying "previewing"."""
    source = write_video(tmp_path / "clip.avi", 8)
    monitor = CameraMonitor(CameraSettings(source=str(source), loop=True))
    worker: CameraWorker[None] = CameraWorker(monitor.factory)
    monitor.watch(worker)
    worker.start()
    wait_for(lambda: "previewing" in monitor.status().detail)
    worker.stop()
    wait_for(lambda: "idle" in monitor.status().detail)
    assert monitor.status().ok


def test_monitor_restart_restarts_a_running_preview(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 10)
    monitor = CameraMonitor(CameraSettings(source=str(source), loop=True))
    worker: CameraWorker[None] = CameraWorker(monitor.factory)
    monitor.watch(worker)
    worker.start()
    wait_for(lambda: worker.frames >= 5)
    states: list[CameraState] = []
    worker.add_listener(lambda state, _error: states.append(state))
    monitor.restart()  # 重启服务 in the device panel while the 人脸 page previews
    wait_for(lambda: CameraState.RUNNING in states)
    assert states[:2] == [CameraState.STOPPED, CameraState.STARTING]
    wait_for(lambda: worker.frames >= 2)
    assert monitor.status().ok and "previewing" in monitor.status().detail
    worker.stop()


def test_quick_stop_and_start_reopens_cleanly(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 25)
    worker: CameraWorker[None] = CameraWorker(lambda: OpenCvCamera(str(source), loop=True))
    for _ in range(5):  # 重拍 pressed again and again: the GUI never waits for the thread
        worker.start()
        wait_for(lambda: worker.frames >= 1)
        worker.stop(timeout=0)
    worker.start()
    wait_for(lambda: worker.frames >= 3)
    packet = worker.take_latest()
    assert packet is not None and packet.seq <= worker.frames
    worker.stop()
    assert not worker.is_capturing and worker.state is CameraState.STOPPED


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain HTTP server on 127.0.0.1 serving tmp_path/www (an IP-camera stand-in)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_url_source_over_http(http_folder: tuple[Path, str]) -> None:
    folder, base = http_folder
    write_video(folder / "stream.avi", 6)
    camera = OpenCvCamera(f"{base}/stream.avi", realtime=False, stall_s=1.0)
    assert camera.is_url and camera.name == "OpenCV stream http"
    camera.open()
    assert [frame_number(camera.read()) for _ in range(6)] == list(range(6))
    with pytest.raises(CameraError) as info:
        camera.read()  # a stream that stops is a camera that went away
    assert info.value.user_message == "摄像头已断开，请检查连接后重试"
    camera.close()
    with pytest.raises(CameraError):
        OpenCvCamera(f"{base}/missing.avi").open()


def test_monitor_does_not_keep_closed_previews(tmp_path: Path) -> None:
    monitor = CameraMonitor(CameraSettings(source=str(write_video(tmp_path / "c.avi", 3))))
    worker: CameraWorker[None] = CameraWorker(monitor.factory)
    monitor.watch(worker)
    watched = weakref.ref(worker)
    del worker
    gc.collect()
    assert watched() is None  # each 补录 dialog's panel is freed with the dialog


def test_second_capture_api_opens_when_the_first_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A file stands in for the webcam: the image-sequence API cannot play an AVI, FFmpeg can
    # (as Media Foundation takes over when DirectShow fails on a real desk).
    source = write_video(tmp_path / "clip.avi", 5)
    camera = OpenCvCamera(str(source), backends=(cv2.CAP_IMAGES, cv2.CAP_FFMPEG), realtime=False)
    camera.open()
    assert camera.backend_name == "FFMPEG"
    assert [frame_number(camera.read()) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert camera.describe() == "640x480 MJPG @ 25 fps via FFMPEG"
    camera.close()
    assert any("images:" in r.getMessage() for r in caplog.records)


def test_every_capture_api_failing_is_reported_with_each_reason(tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.avi", 5)
    with pytest.raises(CameraError) as info:
        OpenCvCamera(str(source), backends=(cv2.CAP_IMAGES,)).open()
    assert "无法打开摄像头视频源" in info.value.user_message
    assert info.value.detail.count("images:") == 1


def test_capture_api_order() -> None:
    assert device_backends("auto", "win32") == (cv2.CAP_DSHOW, cv2.CAP_MSMF)
    assert device_backends("dshow", "win32") == (cv2.CAP_DSHOW, cv2.CAP_MSMF)
    assert device_backends("msmf", "win32") == (cv2.CAP_MSMF, cv2.CAP_DSHOW)
    assert device_backends("auto", "linux") == (cv2.CAP_V4L2, cv2.CAP_ANY)
    assert device_backends("v4l2", "linux") == (cv2.CAP_V4L2, cv2.CAP_ANY)
    with pytest.raises(CameraError):
        device_backends("betamax", "linux")


def test_settings_ask_a_webcam_for_720p_mjpg() -> None:
    camera = OpenCvCamera.from_settings(CameraSettings(source="0", backend="msmf"))
    assert (camera.width, camera.height, camera.fourcc) == (1280, 720, "MJPG")
    expected = device_backends("msmf")
    assert camera.backends == expected


def test_cameras_listed_from_sysfs(tmp_path: Path) -> None:
    # A sysfs tree as the Linux kernel lays it out: two capture nodes and a metadata node.
    for node, name, index in (
        ("video0", "HD Webcam C270", "0"),
        ("video1", "HD Webcam C270", "1"),
        ("video2", "USB2.0 PC CAMERA", "0"),
    ):
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    found = list_cameras(platform="linux", sysfs=tmp_path)
    assert found == [(0, "HD Webcam C270"), (2, "USB2.0 PC CAMERA")]
