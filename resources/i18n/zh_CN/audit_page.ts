<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AuditPage</name>
    <message>
        <source>Operation log</source>
        <translation>操作日志</translation>
    </message>
    <message>
        <source>Viewed details</source>
        <translation>查看详情</translation>
    </message>
    <message>
        <source>Biometric enrollment</source>
        <translation>生物特征补录</translation>
    </message>
    <message>
        <source>Upload refused</source>
        <translation>上传被拒绝</translation>
    </message>
    <message>
        <source>Upload retried</source>
        <translation>重新上传</translation>
    </message>
    <message>
        <source>Logged in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Logged out</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Officer no.</source>
        <translation>关员编号</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>查询</translation>
    </message>
    <message>
        <source>Upload acknowledged</source>
        <translation>上传成功</translation>
    </message>
    <message>
        <source>Wrong PIN</source>
        <translation>PIN 错误</translation>
    </message>
    <message>
        <source>Card blocked</source>
        <translation>卡片已锁定</translation>
    </message>
    <message>
        <source>Locked</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Unlocked</source>
        <translation>解锁</translation>
    </message>
    <message>
        <source>Records pulled</source>
        <translation>同步拉取</translation>
    </message>
    <message>
        <source>Districts changed</source>
        <translation>关区授权变更</translation>
    </message>
    <message>
        <source>Verification passed</source>
        <translation>核验通过</translation>
    </message>
    <message>
        <source>Verification failed</source>
        <translation>核验未通过</translation>
    </message>
    <message>
        <source>Verification not possible</source>
        <translation>无法核验</translation>
    </message>
    <message>
        <source>Previous page</source>
        <translation>上一页</translation>
    </message>
    <message>
        <source>Next page</source>
        <translation>下一页</translation>
    </message>
    <message>
        <source>From</source>
        <translation>起始日期</translation>
    </message>
    <message>
        <source>To</source>
        <translation>结束日期</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Officer</source>
        <translation>关员</translation>
    </message>
    <message>
        <source>Record no.</source>
        <translation>边民编号</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>操作内容</translation>
    </message>
    <message>
        <source>The start date is after the end date.</source>
        <translation>起始日期不能晚于结束日期</translation>
    </message>
    <message>
        <source>Entries %1–%2</source>
        <translation>第 %1–%2 条</translation>
    </message>
    <message>
        <source>Operation failed</source>
        <translation>操作失败</translation>
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
