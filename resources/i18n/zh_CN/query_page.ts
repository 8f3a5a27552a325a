<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>QueryPage</name>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="161"/>
        <source>Query conditions</source>
        <translation>查询条件</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="167"/>
        <source>Name, or the full ID number</source>
        <translation>姓名或完整身份证号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="177"/>
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="180"/>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="195"/>
        <source>Sync state</source>
        <translation>同步状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="195"/>
        <source>Customs code</source>
        <translation>关区代码</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="195"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="195"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="196"/>
        <source>Biometrics</source>
        <translation>生物标识</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="196"/>
        <source>Enable state</source>
        <translation>启用状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="196"/>
        <source>Last operation date</source>
        <translation>最近操作日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="202"/>
        <source>to</source>
        <translation>至</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="224"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="226"/>
        <source>Enroll biometrics</source>
        <translation>补录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="232"/>
        <source>Choose columns</source>
        <translation>选择显示列</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="298"/>
        <source>Dates must be written as yyyy-MM-dd.</source>
        <translation>日期格式应为 yyyy-MM-dd（如 2023-05-26）</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="301"/>
        <source>The start date is after the end date.</source>
        <translation>最近操作日期的开始日期不能晚于结束日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="304"/>
        <source>Searching…</source>
        <translation>查询中…</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="342"/>
        <source>%1 records</source>
        <translation>共 %1 条</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="355"/>
        <source>Enroll fingerprints and face</source>
        <translation>补录指纹和人脸</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="359"/>
        <source>Select a record first.</source>
        <translation>请先选择一条边民备案数据</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="361"/>
        <source>Only records whose state is Normal can be enrolled.</source>
        <translation>只能对状态为“正常”的边民进行生物特征补录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="363"/>
        <source>Only records synced with customs can be enrolled.</source>
        <translation>同步状态为“已同步海关”的边民才能补录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="411"/>
        <source>Comprehensive query</source>
        <translation>综合查询</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/query_page.py" line="412"/>
        <source>Borderer record query</source>
        <translation>边民备案查询</translation>
    </message>
</context>
</TS>
