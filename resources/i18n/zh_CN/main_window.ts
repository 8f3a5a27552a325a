<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>MainWindow</name>
    <message>
        <source>Opening the database…</source>
        <translation>正在打开本地数据库…</translation>
    </message>
    <message>
        <source>Border Trade Service</source>
        <translation>边民互市贸易服务</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Fold or unfold the menu</source>
        <translation>折叠/展开菜单</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Close all tabs</source>
        <translation>关闭全部选项卡</translation>
    </message>
    <message>
        <source>Close other tabs</source>
        <translation>关闭其他选项卡</translation>
    </message>
    <message>
        <source>Not logged in</source>
        <translation>未登录</translation>
    </message>
</context>
</TS>
