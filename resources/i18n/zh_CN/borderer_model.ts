<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>BordererTableModel</name>
    <message>
        <source>Query failed.</source>
        <translation>查询失败。</translation>
    </message>
</context>
</TS>
