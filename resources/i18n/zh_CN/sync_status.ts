<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>SyncStatusWidget</name>
    <message>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <source>Upload the queue and fetch the latest records now</source>
        <translation>立即上传待上传的采集数据，并获取最新的边民记录</translation>
    </message>
    <message numerus="yes">
        <source>Pending uploads: %n</source>
        <translation>
            <numerusform>待上传 %n</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>, refused: %n</source>
        <translation>
            <numerusform>，被拒绝 %n</numerusform>
        </translation>
    </message>
    <message>
        <source>Last sync: %1</source>
        <translation>上次同步 %1</translation>
    </message>
    <message>
        <source>Last sync: never</source>
        <translation>上次同步 无</translation>
    </message>
    <message>
        <source>Offline (no sync service configured)</source>
        <translation>离线（未配置同步服务器）</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>在线</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>正在上传</translation>
    </message>
    <message>
        <source>fetching records (%1)</source>
        <translation>正在获取边民记录（%1）</translation>
    </message>
</context>
</TS>
