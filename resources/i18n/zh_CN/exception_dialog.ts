<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ExceptionDialog</name>
    <message>
        <source>No photo possible (%1)</source>
        <translation>无法拍照（%1）</translation>
    </message>
    <message>
        <source>Cannot capture: %1 (%2)</source>
        <translation>无法采集：%1（%2）</translation>
    </message>
    <message>
        <source>Photo not possible</source>
        <translation>无法拍照</translation>
    </message>
    <message>
        <source>Cannot capture</source>
        <translation>无法采集</translation>
    </message>
    <message>
        <source>The face cannot be photographed. Reason:</source>
        <translation>人脸无法拍照，原因：</translation>
    </message>
    <message>
        <source>The %1 cannot be captured. Reason:</source>
        <translation>%1无法采集，原因：</translation>
    </message>
    <message>
        <source>Describe the reason (required for Other)</source>
        <translation>请填写原因（选择“其他”时必填）</translation>
    </message>
    <message>
        <source>The officer confirms: recorded and kept in the audit log.</source>
        <translation>由关员确认，记入操作日志。</translation>
    </message>
    <message>
        <source>C&amp;onfirm</source>
        <translation>确认(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
</context>
</TS>
