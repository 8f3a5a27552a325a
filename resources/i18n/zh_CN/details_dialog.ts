<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DetailsDialog</name>
    <message>
        <source>Borderer details</source>
        <translation>边民备案详情</translation>
    </message>
    <message>
        <source>Not captured</source>
        <translation>未采集原因</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
</TS>
