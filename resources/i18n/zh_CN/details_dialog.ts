<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DetailsDialog</name>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="27"/>
        <source>Customs code</source>
        <translation>关区代码</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="28"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="29"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="30"/>
        <source>ID number</source>
        <translation>身份证号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="31"/>
        <source>Registered address</source>
        <translation>户籍地址</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="32"/>
        <source>ID valid from</source>
        <translation>身份证有效期起</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="33"/>
        <source>ID valid to</source>
        <translation>身份证有效期止</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="34"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="35"/>
        <source>Data source</source>
        <translation>数据来源</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="36"/>
        <source>Valid to</source>
        <translation>有效期止</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="37"/>
        <source>Biometrics</source>
        <translation>生物标识</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="38"/>
        <source>Enable state</source>
        <translation>启用状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="39"/>
        <source>Sync state</source>
        <translation>同步状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="40"/>
        <source>Last operation date</source>
        <translation>最近操作日期</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="50"/>
        <source>Borderer details</source>
        <translation>边民备案详情</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/details_dialog.py" line="78"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
</TS>
