<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>OutboxPage</name>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="41"/>
        <source>Upload queue</source>
        <translation>上传队列</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="90"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="92"/>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="209"/>
        <source>Send the selected upload again now</source>
        <translation>立即重新上传所选记录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="94"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="99"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="100"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="101"/>
        <source>Record no.</source>
        <translation>边民编号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="102"/>
        <source>Captured at</source>
        <translation>采集时间</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="103"/>
        <source>Officer</source>
        <translation>关员</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="104"/>
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="105"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message numerus="yes">
        <location filename="../../../bts_desk/ui/outbox_page.py" line="162"/>
        <source>%n upload(s) waiting</source>
        <translation>
            <numerusform>待上传 %n 条</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../../bts_desk/ui/outbox_page.py" line="164"/>
        <source>%n refused</source>
        <translation>
            <numerusform>被拒绝 %n 条</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="173"/>
        <source>%1 (next attempt at %2)</source>
        <translation>%1（%2 再次尝试）</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="186"/>
        <source>Operation failed</source>
        <translation>操作失败</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="207"/>
        <source>Log in to retry uploads</source>
        <translation>请登录后再重试上传</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="219"/>
        <source>The upload is queued again.</source>
        <translation>已重新加入上传队列。</translation>
    </message>
</context>
<context>
    <name>QueryPage</name>
    <message>
        <location filename="../../../bts_desk/ui/outbox_page.py" line="56"/>
        <source>Comprehensive query</source>
        <translation>综合查询</translation>
    </message>
</context>
</TS>
