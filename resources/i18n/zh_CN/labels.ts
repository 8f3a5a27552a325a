<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Domain</name>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="30"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="31"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="32"/>
        <source>Normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="33"/>
        <source>Suspended</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="34"/>
        <source>Cancelled</source>
        <translation>注销</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="35"/>
        <source>Synced with customs</source>
        <translation>已同步海关</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="36"/>
        <source>Not synced with customs</source>
        <translation>未同步海关</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="37"/>
        <source>Enabled</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="38"/>
        <source>Disabled</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="39"/>
        <source>Face and fingerprints</source>
        <translation>人脸指纹都有</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="40"/>
        <source>Fingerprints, no face</source>
        <translation>没有人脸有指纹</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="41"/>
        <source>Face, no fingerprints</source>
        <translation>有人脸没有指纹</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="42"/>
        <source>Neither</source>
        <translation>都没有</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="43"/>
        <source>Pending</source>
        <translation>待上传</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="44"/>
        <source>Sending</source>
        <translation>上传中</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="45"/>
        <source>Uploaded</source>
        <translation>已上传</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="46"/>
        <source>Refused</source>
        <translation>被拒绝</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/labels.py" line="47"/>
        <source>All</source>
        <translation>全部</translation>
    </message>
</context>
</TS>
