<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>BordererTableModel</name>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="59"/>
        <source>Customs code</source>
        <translation>关区代码</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="60"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="61"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="62"/>
        <source>ID number</source>
        <translation>身份证号</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="63"/>
        <source>Registered address</source>
        <translation>户籍地址</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="64"/>
        <source>ID valid from</source>
        <translation>身份证有效期起</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="65"/>
        <source>ID valid to</source>
        <translation>身份证有效期止</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="66"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="67"/>
        <source>Data source</source>
        <translation>数据来源</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="68"/>
        <source>Valid to</source>
        <translation>有效期止</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="69"/>
        <source>Biometrics</source>
        <translation>生物标识</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="70"/>
        <source>Enable state</source>
        <translation>启用状态</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/borderer_model.py" line="185"/>
        <source>Query failed.</source>
        <translation>查询失败。</translation>
    </message>
</context>
</TS>
