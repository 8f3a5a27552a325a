<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AuditPage</name>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="37"/>
        <source>Operation log</source>
        <translation>操作日志</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="59"/>
        <source>Viewed details</source>
        <translation>查看详情</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="60"/>
        <source>Biometric enrollment</source>
        <translation>生物特征补录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="61"/>
        <source>Upload refused</source>
        <translation>上传被拒绝</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="62"/>
        <source>Upload retried</source>
        <translation>重新上传</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="63"/>
        <source>Logged in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="64"/>
        <source>Logged out</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="87"/>
        <source>Officer no.</source>
        <translation>关员编号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="90"/>
        <source>Search</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="94"/>
        <source>Previous page</source>
        <translation>上一页</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="96"/>
        <source>Next page</source>
        <translation>下一页</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="104"/>
        <source>From</source>
        <translation>起始日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="105"/>
        <source>To</source>
        <translation>结束日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="106"/>
        <location filename="../../../bts_desk/ui/audit_page.py" line="130"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="128"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="129"/>
        <source>Officer</source>
        <translation>关员</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="131"/>
        <source>Record no.</source>
        <translation>边民编号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="132"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="133"/>
        <source>Details</source>
        <translation>操作内容</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="148"/>
        <source>The start date is after the end date.</source>
        <translation>起始日期不能晚于结束日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="197"/>
        <source>Entries %1–%2</source>
        <translation>第 %1–%2 条</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="208"/>
        <source>Operation failed</source>
        <translation>操作失败</translation>
    </message>
</context>
<context>
    <name>QueryPage</name>
    <message>
        <location filename="../../../bts_desk/ui/audit_page.py" line="46"/>
        <source>Comprehensive query</source>
        <translation>综合查询</translation>
    </message>
</context>
</TS>
