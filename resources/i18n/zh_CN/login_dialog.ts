<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CardPresence</name>
    <message>
        <source>The card could not be read. Please try again.</source>
        <translation>无法读取卡介质，请重试。</translation>
    </message>
    <message>
        <source>No card reader found</source>
        <translation>未检测到读卡器</translation>
    </message>
    <message>
        <source>Card inserted</source>
        <translation>已插入卡介质</translation>
    </message>
    <message>
        <source>The card does not respond: insert it the right way round</source>
        <translation>卡无响应，请确认卡介质插入方向正确</translation>
    </message>
    <message>
        <source>Please insert the officer card</source>
        <translation>请插入卡介质</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Border Trade Service - officer login</source>
        <translation>边民互市贸易服务 — 关员登录</translation>
    </message>
    <message>
        <source>Border Trade Service</source>
        <translation>边民互市贸易服务</translation>
    </message>
    <message>
        <source>Insert the officer card and enter the card PIN.</source>
        <translation>请将卡介质正确连接在电脑中，输入卡密码。</translation>
    </message>
    <message>
        <source>Looking for card readers...</source>
        <translation>正在查找读卡器…</translation>
    </message>
    <message>
        <source>6-8 digits</source>
        <translation>6–8 位数字</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Card reader:</source>
        <translation>读卡器：</translation>
    </message>
    <message>
        <source>Card:</source>
        <translation>卡介质：</translation>
    </message>
    <message>
        <source>Card PIN:</source>
        <translation>卡密码：</translation>
    </message>
    <message>
        <source>The PIN has 6 to 8 digits.</source>
        <translation>卡密码应为 6–8 位数字。</translation>
    </message>
    <message>
        <source>Please insert the officer card.</source>
        <translation>请插入卡介质。</translation>
    </message>
    <message>
        <source>Reading the card...</source>
        <translation>正在读卡…</translation>
    </message>
</context>
</TS>
