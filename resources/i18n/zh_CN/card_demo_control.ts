<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CardDemoControl</name>
    <message>
        <source>Demo: remove card</source>
        <translation>演示：拔出卡</translation>
    </message>
    <message>
        <source>Pull the virtual officer card out of the reader</source>
        <translation>从读卡器拔出虚拟关员卡</translation>
    </message>
    <message>
        <source>Demo: insert card</source>
        <translation>演示：插入卡</translation>
    </message>
    <message>
        <source>Put the virtual officer card back into the reader</source>
        <translation>将虚拟关员卡插回读卡器</translation>
    </message>
</context>
<context>
    <name>control</name>
    <message>
        <source>Demo</source>
        <translation>演示</translation>
    </message>
</context>
</TS>
