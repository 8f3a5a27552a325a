<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>FacePanel</name>
    <message>
        <source>Ready: take the photo</source>
        <translation>可以拍照</translation>
    </message>
    <message>
        <source>No face detected</source>
        <translation>未检测到人脸</translation>
    </message>
    <message>
        <source>More than one face detected</source>
        <translation>检测到多张人脸</translation>
    </message>
    <message>
        <source>Place the face inside the frame</source>
        <translation>请将脸部置于框内</translation>
    </message>
    <message>
        <source>Move a little further away</source>
        <translation>请离远一些</translation>
    </message>
    <message>
        <source>Come a little closer</source>
        <translation>请靠近一些</translation>
    </message>
    <message>
        <source>Too dark</source>
        <translation>光线太暗</translation>
    </message>
    <message>
        <source>Too bright</source>
        <translation>光线过亮</translation>
    </message>
    <message>
        <source>Image blurred: hold still</source>
        <translation>画面模糊，请保持不动</translation>
    </message>
    <message>
        <source>Face the camera</source>
        <translation>请正对摄像头</translation>
    </message>
    <message>
        <source>Hold the head straight, do not tilt it</source>
        <translation>请摆正头部，不要歪头</translation>
    </message>
    <message>
        <source>Do not turn the head: look at the camera</source>
        <translation>请不要转头，正视摄像头</translation>
    </message>
    <message>
        <source>Open the eyes</source>
        <translation>请睁开眼睛</translation>
    </message>
    <message>
        <source>The head is too near the edge: move to the middle of the picture</source>
        <translation>头部太靠近画面边缘，请移到画面中间</translation>
    </message>
    <message>
        <source>Stand in front of a plain, light background</source>
        <translation>请站在浅色纯色背景前</translation>
    </message>
    <message>
        <source>Photo</source>
        <translation>照片</translation>
    </message>
    <message>
        <source>Start ca&amp;mera</source>
        <translation>开始拍照(&amp;M)</translation>
    </message>
    <message>
        <source>Take &amp;photo</source>
        <translation>拍照(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Retake</source>
        <translation>重拍(&amp;R)</translation>
    </message>
    <message>
        <source>Retr&amp;y</source>
        <translation>重试(&amp;Y)</translation>
    </message>
    <message>
        <source>Opening the camera…</source>
        <translation>正在打开摄像头…</translation>
    </message>
    <message>
        <source>Photo taken</source>
        <translation>已拍照</translation>
    </message>
    <message>
        <source>Click Start camera, then ask the person to look into the camera</source>
        <translation>点击【开始拍照】，请边民正对摄像头，脸部置于人像框内</translation>
    </message>
    <message>
        <source>No photo taken: follow the hint in the picture, then take the photo</source>
        <translation>未拍到照片：请按画面提示调整后再拍照</translation>
    </message>
</context>
</TS>
