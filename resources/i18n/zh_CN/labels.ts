<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Domain</name>
    <message>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <source>Normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>Suspended</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>注销</translation>
    </message>
    <message>
        <source>Synced with customs</source>
        <translation>已同步海关</translation>
    </message>
    <message>
        <source>Not synced with customs</source>
        <translation>未同步海关</translation>
    </message>
    <message>
        <source>Enabled</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>Face and fingerprints</source>
        <translation>人脸指纹都有</translation>
    </message>
    <message>
        <source>Fingerprints, no face</source>
        <translation>没有人脸有指纹</translation>
    </message>
    <message>
        <source>Face, no fingerprints</source>
        <translation>有人脸没有指纹</translation>
    </message>
    <message>
        <source>Neither</source>
        <translation>都没有</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>待上传</translation>
    </message>
    <message>
        <source>Sending</source>
        <translation>上传中</translation>
    </message>
    <message>
        <source>Uploaded</source>
        <translation>已上传</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>被拒绝</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Unknown finger</source>
        <translation>未知手指</translation>
    </message>
    <message>
        <source>Right thumb</source>
        <translation>右手拇指</translation>
    </message>
    <message>
        <source>Right index finger</source>
        <translation>右手食指</translation>
    </message>
    <message>
        <source>Right middle finger</source>
        <translation>右手中指</translation>
    </message>
    <message>
        <source>Right ring finger</source>
        <translation>右手环指</translation>
    </message>
    <message>
        <source>Right little finger</source>
        <translation>右手小指</translation>
    </message>
    <message>
        <source>Left thumb</source>
        <translation>左手拇指</translation>
    </message>
    <message>
        <source>Left index finger</source>
        <translation>左手食指</translation>
    </message>
    <message>
        <source>Left middle finger</source>
        <translation>左手中指</translation>
    </message>
    <message>
        <source>Left ring finger</source>
        <translation>左手环指</translation>
    </message>
    <message>
        <source>Left little finger</source>
        <translation>左手小指</translation>
    </message>
    <message>
        <source>Finger missing</source>
        <translation>手指缺失</translation>
    </message>
    <message>
        <source>Finger damaged</source>
        <translation>手指受损</translation>
    </message>
    <message>
        <source>Bandaged</source>
        <translation>包扎</translation>
    </message>
    <message>
        <source>Cannot be photographed</source>
        <translation>无法配合拍照</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
</context>
<context>
    <name>Field</name>
    <message>
        <source>Customs code</source>
        <translation>关区代码</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <source>ID number</source>
        <translation>身份证号</translation>
    </message>
    <message>
        <source>Registered address</source>
        <translation>户籍地址</translation>
    </message>
    <message>
        <source>ID valid from</source>
        <translation>身份证有效期起</translation>
    </message>
    <message>
        <source>ID valid to</source>
        <translation>身份证有效期止</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Data source</source>
        <translation>数据来源</translation>
    </message>
    <message>
        <source>Valid to</source>
        <translation>有效期止</translation>
    </message>
    <message>
        <source>Biometrics</source>
        <translation>生物标识</translation>
    </message>
    <message>
        <source>Enable state</source>
        <translation>启用状态</translation>
    </message>
    <message>
        <source>Sync state</source>
        <translation>同步状态</translation>
    </message>
    <message>
        <source>Last operation date</source>
        <translation>最近操作日期</translation>
    </message>
</context>
</TS>
