<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>OutboxPage</name>
    <message>
        <source>Upload queue</source>
        <translation>上传队列</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Send the selected upload again now</source>
        <translation>立即重新上传所选记录</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Record no.</source>
        <translation>边民编号</translation>
    </message>
    <message>
        <source>Captured at</source>
        <translation>采集时间</translation>
    </message>
    <message>
        <source>Officer</source>
        <translation>关员</translation>
    </message>
    <message>
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message numerus="yes">
        <source>%n upload(s) waiting</source>
        <translation>
            <numerusform>待上传 %n 条</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n refused</source>
        <translation>
            <numerusform>被拒绝 %n 条</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 (next attempt at %2)</source>
        <translation>%1（%2 再次尝试）</translation>
    </message>
    <message>
        <source>Operation failed</source>
        <translation>操作失败</translation>
    </message>
    <message>
        <source>Log in to retry uploads</source>
        <translation>请登录后再重试上传</translation>
    </message>
    <message>
        <source>The upload is queued again.</source>
        <translation>已重新加入上传队列。</translation>
    </message>
</context>
<context>
    <name>QueryPage</name>
    <message>
        <source>Comprehensive query</source>
        <translation>综合查询</translation>
    </message>
</context>
</TS>
