<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>QueryPage</name>
    <message>
        <source>Query conditions</source>
        <translation>查询条件</translation>
    </message>
    <message>
        <source>Name, or the full ID number</source>
        <translation>姓名或完整身份证号</translation>
    </message>
    <message>
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <source>to</source>
        <translation>至</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Enroll biometrics</source>
        <translation>补录</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>核验</translation>
    </message>
    <message>
        <source>Choose columns</source>
        <translation>选择显示列</translation>
    </message>
    <message>
        <source>Dates must be written as yyyy-MM-dd.</source>
        <translation>日期格式应为 yyyy-MM-dd（如 2023-05-26）</translation>
    </message>
    <message>
        <source>The start date is after the end date.</source>
        <translation>最近操作日期的开始日期不能晚于结束日期</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>查询中…</translation>
    </message>
    <message>
        <source>Districts held: %1</source>
        <translation>本机关区：%1</translation>
    </message>
    <message>
        <source>%1 records</source>
        <translation>共 %1 条</translation>
    </message>
    <message>
        <source>Enroll fingerprints and face</source>
        <translation>补录指纹和人脸</translation>
    </message>
    <message>
        <source>Check the borderer&apos;s finger against the enrolled one</source>
        <translation>将边民的指纹与已采集的指纹比对</translation>
    </message>
    <message>
        <source>Only records with fingerprints can be verified.</source>
        <translation>只有已采集指纹的记录才能核验。</translation>
    </message>
    <message>
        <source>Select a record first.</source>
        <translation>请先选择一条边民备案数据</translation>
    </message>
    <message>
        <source>Only records whose state is Normal can be enrolled.</source>
        <translation>只能对状态为“正常”的边民进行生物特征补录</translation>
    </message>
    <message>
        <source>Only records synced with customs can be enrolled.</source>
        <translation>同步状态为“已同步海关”的边民才能补录</translation>
    </message>
    <message>
        <source>Comprehensive query</source>
        <translation>综合查询</translation>
    </message>
    <message>
        <source>Borderer record query</source>
        <translation>边民备案查询</translation>
    </message>
</context>
</TS>
