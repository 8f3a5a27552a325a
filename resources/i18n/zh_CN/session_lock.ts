<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>LockPage</name>
    <message>
        <source>Card PIN (6-8 digits)</source>
        <translation>卡密码（6–8 位数字）</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Log in again</source>
        <translation>重新登录</translation>
    </message>
    <message>
        <source>Insert the same officer card and enter its PIN to unlock.</source>
        <translation>请插入本人的卡介质并输入卡密码解锁。</translation>
    </message>
</context>
<context>
    <name>SessionLock</name>
    <message>
        <source>Card reader disconnected: the window is locked</source>
        <translation>读卡器已断开，窗口已锁定</translation>
    </message>
    <message>
        <source>The card&apos;s certificate has been revoked: the window is locked</source>
        <translation>此卡证书已被吊销：窗口已锁定</translation>
    </message>
    <message>
        <source>The card was reset by another program: the window is locked</source>
        <translation>卡已被其他程序重置，窗口已锁定</translation>
    </message>
    <message>
        <source>Card removed: the window is locked</source>
        <translation>卡已拔出，窗口已锁定</translation>
    </message>
    <message>
        <source>Officer: %1, customs district %2</source>
        <translation>当前关员：%1&#x3000;关区代码：%2</translation>
    </message>
    <message>
        <source>Saved enrollments stay on this desk and are uploaded as usual; an enrollment that was not saved has been discarded and must be captured again.</source>
        <translation>已保存的补录仍保留在本机，并会照常上传；未点击“保存”的补录已放弃，需要重新采集。</translation>
    </message>
    <message>
        <source>Not logged in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <source>Insert the officer card and log in.</source>
        <translation>请插入卡介质并登录。</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Session ended</source>
        <translation>会话已结束</translation>
    </message>
    <message>
        <source>The card of another officer (%1) was inserted: the session of %2 ended.</source>
        <translation>插入的是另一位关员（%1）的卡，%2 的会话已结束。</translation>
    </message>
    <message>
        <source>Logged out</source>
        <translation>已退出</translation>
    </message>
    <message>
        <source>The officer session has ended.</source>
        <translation>关员会话已结束。</translation>
    </message>
    <message>
        <source>Card of %1 inserted: enter the PIN to unlock.</source>
        <translation>已插入 %1 的卡，请输入卡密码解锁。</translation>
    </message>
    <message>
        <source>Reading the card...</source>
        <translation>正在读卡…</translation>
    </message>
</context>
</TS>
