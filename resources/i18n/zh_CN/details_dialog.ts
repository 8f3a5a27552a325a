<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DetailsDialog</name>
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
    <message>
        <source>Borderer details</source>
        <translation>边民备案详情</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
</TS>
