<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>FacePanel</name>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="73"/>
        <source>Ready: take the photo</source>
        <translation>可以拍照</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="74"/>
        <source>No face detected</source>
        <translation>未检测到人脸</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="75"/>
        <source>More than one face detected</source>
        <translation>检测到多张人脸</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="76"/>
        <source>Place the face inside the frame</source>
        <translation>请将脸部置于框内</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="77"/>
        <source>Move a little further away</source>
        <translation>请离远一些</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="78"/>
        <source>Come a little closer</source>
        <translation>请靠近一些</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="79"/>
        <source>Too dark</source>
        <translation>光线太暗</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="80"/>
        <source>Too bright</source>
        <translation>光线过亮</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="81"/>
        <source>Image blurred: hold still</source>
        <translation>画面模糊，请保持不动</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="82"/>
        <source>Face the camera</source>
        <translation>请正对摄像头</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="224"/>
        <source>Photo</source>
        <translation>照片</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="230"/>
        <source>Start camera</source>
        <translation>开始拍照</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="232"/>
        <source>Take photo</source>
        <translation>拍照</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="233"/>
        <source>Retake</source>
        <translation>重拍</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="234"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="271"/>
        <source>Opening the camera…</source>
        <translation>正在打开摄像头…</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="292"/>
        <source>Photo taken</source>
        <translation>已拍照</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/face_panel.py" line="325"/>
        <source>Click Start camera, then ask the person to look into the camera</source>
        <translation>点击【开始拍照】，请边民正对摄像头，脸部置于人像框内</translation>
    </message>
</context>
</TS>
