<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CardPresence</name>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="62"/>
        <source>The card could not be read. Please try again.</source>
        <translation>无法读取卡介质，请重试。</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="175"/>
        <source>No card reader found</source>
        <translation>未检测到读卡器</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="184"/>
        <source>Card inserted</source>
        <translation>已插入卡介质</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="189"/>
        <source>The card does not respond: insert it the right way round</source>
        <translation>卡无响应，请确认卡介质插入方向正确</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="195"/>
        <source>Please insert the officer card</source>
        <translation>请插入卡介质</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="76"/>
        <source>Border Trade Service - officer login</source>
        <translation>边民互市贸易服务 — 关员登录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="85"/>
        <source>Border Trade Service</source>
        <translation>边民互市贸易服务</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="88"/>
        <source>Insert the officer card and enter the card PIN.</source>
        <translation>请将卡介质正确连接在电脑中，输入卡密码。</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="92"/>
        <source>6-8 digits</source>
        <translation>6–8 位数字</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="95"/>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="104"/>
        <source>Card reader:</source>
        <translation>读卡器：</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="105"/>
        <source>Card:</source>
        <translation>卡介质：</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="106"/>
        <source>Card PIN:</source>
        <translation>卡密码：</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="138"/>
        <source>The PIN has 6 to 8 digits.</source>
        <translation>卡密码应为 6–8 位数字。</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="141"/>
        <source>Please insert the officer card.</source>
        <translation>请插入卡介质。</translation>
    </message>
    <message>
        <location filename="../../../bts_desk/ui/login_dialog.py" line="145"/>
        <source>Reading the card...</source>
        <translation>正在读卡…</translation>
    </message>
</context>
</TS>
