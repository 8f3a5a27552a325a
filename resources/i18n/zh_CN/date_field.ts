<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DateField</name>
    <message>
        <source>Pick a date</source>
        <translation>选择日期</translation>
    </message>
</context>
</TS>
