<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>VerifyPage</name>
    <message>
        <source>Full ID number (typed or pasted)</source>
        <translation>完整身份证号（输入或粘贴）</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>备案信息</translation>
    </message>
    <message>
        <source>Enrolled fingers</source>
        <translation>已采集指纹</translation>
    </message>
    <message>
        <source>Enrolled portrait</source>
        <translation>登记照片</translation>
    </message>
    <message>
        <source>Live camera</source>
        <translation>实时画面</translation>
    </message>
    <message>
        <source>&amp;Verify</source>
        <translation>核验(&amp;V)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Finger</source>
        <translation>手指</translation>
    </message>
    <message>
        <source>Type or paste the full 18-character ID number.</source>
        <translation>请输入或粘贴完整的18位身份证号。</translation>
    </message>
    <message>
        <source>No record with this ID number on this desk.</source>
        <translation>本机没有该身份证号的边民备案记录。</translation>
    </message>
    <message>
        <source>No fingerprint of this borderer is on this desk: sync, then try again.</source>
        <translation>本机没有该边民的指纹模板，请同步数据后再试。</translation>
    </message>
    <message>
        <source>The enrolled portrait is not kept on this desk</source>
        <translation>登记照片不保存在本机</translation>
    </message>
    <message>
        <source>Asking the sync service for the enrolled portrait…</source>
        <translation>正在向同步服务获取登记照片…</translation>
    </message>
    <message>
        <source>The enrolled portrait is not available: %1</source>
        <translation>登记照片暂不可用：%1</translation>
    </message>
    <message>
        <source>Log in with the officer card first.</source>
        <translation>请先插卡登录。</translation>
    </message>
    <message>
        <source>Lift the finger</source>
        <translation>请抬起手指</translation>
    </message>
    <message>
        <source>Three tries did not pass: now the %1.</source>
        <translation>三次核验未通过，请改用%1。</translation>
    </message>
    <message>
        <source>Every enrolled finger has used its three tries.</source>
        <translation>所有已采集的手指均已核验三次，核验未通过。</translation>
    </message>
    <message>
        <source>No tries left</source>
        <translation>已无核验次数</translation>
    </message>
    <message>
        <source>Press the %1 (try %2 of %3)</source>
        <translation>请按%1（第 %2/%3 次）</translation>
    </message>
    <message>
        <source>Verification passed</source>
        <translation>核验通过</translation>
    </message>
    <message>
        <source>Verification failed</source>
        <translation>核验未通过</translation>
    </message>
    <message>
        <source>%1: score %2, threshold %3</source>
        <translation>%1：分数 %2，阈值 %3</translation>
    </message>
    <message>
        <source>%1: matched by the scanner (no score)</source>
        <translation>%1：由指纹识别器比对（无分数）</translation>
    </message>
    <message>
        <source>Today: %1 checked, %2 passed, %3 failed</source>
        <translation>今日核验 %1 人：通过 %2 人，未通过 %3 人</translation>
    </message>
    <message>
        <source>The store could not be read.</source>
        <translation>本地数据读取失败。</translation>
    </message>
    <message>
        <source>No camera configured</source>
        <translation>未配置摄像头</translation>
    </message>
    <message>
        <source>Opening the camera…</source>
        <translation>正在打开摄像头…</translation>
    </message>
    <message>
        <source>Find a borderer to verify</source>
        <translation>请查找要核验的边民</translation>
    </message>
    <message>
        <source>Borderer verification</source>
        <translation>边民核验</translation>
    </message>
</context>
</TS>
