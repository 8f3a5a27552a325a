<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>EnrollDialog</name>
    <message>
        <source>Biometric information entry</source>
        <translation>人脸识别信息录入</translation>
    </message>
    <message>
        <source>Finger 1</source>
        <translation>指纹1</translation>
    </message>
    <message>
        <source>Finger 2</source>
        <translation>指纹2</translation>
    </message>
    <message>
        <source>Change to another finger and press three times</source>
        <translation>请换个手指再按三次指纹</translation>
    </message>
    <message>
        <source>%1 (press %2 of %3)</source>
        <translation>%1（第 %2/%3 次）</translation>
    </message>
    <message>
        <source>Fin&amp;gerprints</source>
        <translation>指纹(&amp;G)</translation>
    </message>
    <message>
        <source>&amp;No photo possible</source>
        <translation>无法拍照(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;Face</source>
        <translation>人脸(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <source>Finger 1 &amp;unavailable</source>
        <translation>指纹1无法采集(&amp;U)</translation>
    </message>
    <message>
        <source>Finger 2 una&amp;vailable</source>
        <translation>指纹2无法采集(&amp;V)</translation>
    </message>
    <message>
        <source>S&amp;top capture</source>
        <translation>停止采集(&amp;T)</translation>
    </message>
    <message>
        <source>Press the %1 three times</source>
        <translation>请按%1三次</translation>
    </message>
    <message>
        <source>Change to the %1 and press three times</source>
        <translation>请换%1再按三次</translation>
    </message>
    <message>
        <source>Lift the finger</source>
        <translation>请抬起手指</translation>
    </message>
    <message>
        <source>Reading the fingerprint from the scanner…</source>
        <translation>正在从指纹识别器读取指纹…</translation>
    </message>
    <message>
        <source>Capture stopped</source>
        <translation>已停止采集</translation>
    </message>
    <message>
        <source>Fingerprint capture failed</source>
        <translation>指纹采集失败</translation>
    </message>
    <message>
        <source>Fingerprint captured successfully</source>
        <translation>指纹采集成功</translation>
    </message>
    <message>
        <source>Re-enrol finger &amp;1</source>
        <translation>重新录入第一指纹(&amp;1)</translation>
    </message>
    <message>
        <source>Enrol finger &amp;1</source>
        <translation>第一指纹录入(&amp;1)</translation>
    </message>
    <message>
        <source>Re-enrol finger &amp;2</source>
        <translation>重新录入第二指纹(&amp;2)</translation>
    </message>
    <message>
        <source>Enrol finger &amp;2</source>
        <translation>第二指纹录入(&amp;2)</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Saved successfully</source>
        <translation>保存成功</translation>
    </message>
    <message>
        <source>Saving failed; the captured data is still here</source>
        <translation>保存失败，已采集的数据仍保留在本页</translation>
    </message>
    <message>
        <source>No fingerprint and no photo were captured; every one is recorded as impossible with its reason. Save the entry?</source>
        <translation>未采集任何指纹和人脸，均已登记无法采集的原因。确认保存？</translation>
    </message>
    <message>
        <source>The captured fingerprints and photo will be discarded. Cancel the entry?</source>
        <translation>已采集的指纹和照片将被丢弃，确定取消录入吗？</translation>
    </message>
</context>
</TS>
