<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DeviceLights</name>
    <message>
        <source>External device status</source>
        <translation>外接设备状态</translation>
    </message>
</context>
<context>
    <name>DevicePanel</name>
    <message>
        <source>Card reader</source>
        <translation>读卡器</translation>
    </message>
    <message>
        <source>Fingerprint scanner</source>
        <translation>指纹识别器</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>摄像头</translation>
    </message>
    <message>
        <source>External device status</source>
        <translation>外接设备状态</translation>
    </message>
    <message>
        <source>Restarting the %1…</source>
        <translation>正在重启%1…</translation>
    </message>
    <message>
        <source>The %1 was restarted.</source>
        <translation>%1已重启。</translation>
    </message>
    <message>
        <source>Restart failed: %1</source>
        <translation>重启失败：%1</translation>
    </message>
    <message>
        <source>The settings could not be saved: %1</source>
        <translation>设置无法保存：%1</translation>
    </message>
    <message>
        <source>Settings saved; restarting the fingerprint scanner…</source>
        <translation>设置已保存，正在重启指纹识别器…</translation>
    </message>
    <message>
        <source>The fingerprint scanner now uses %1.</source>
        <translation>指纹识别器已改用 %1。</translation>
    </message>
    <message>
        <source>System</source>
        <translation>系统管理</translation>
    </message>
</context>
<context>
    <name>DeviceRow</name>
    <message>
        <source>Restart service</source>
        <translation>重启服务</translation>
    </message>
    <message>
        <source>Not installed</source>
        <translation>未配置</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>正在检测…</translation>
    </message>
    <message>
        <source>Working</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>Fault</source>
        <translation>异常</translation>
    </message>
</context>
<context>
    <name>ScannerSettingsForm</name>
    <message>
        <source>Pick a port, or type one (COM3, /dev/ttyUSB0)</source>
        <translation>选择端口，或直接输入（如 COM3、/dev/ttyUSB0）</translation>
    </message>
    <message>
        <source>Find ports</source>
        <translation>查找端口</translation>
    </message>
    <message>
        <source>Configure device</source>
        <translation>配置设备</translation>
    </message>
    <message>
        <source>Driver (model):</source>
        <translation>驱动（设备型号）：</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <source>Automatic (USB-serial adapter)</source>
        <translation>自动（USB 串口）</translation>
    </message>
</context>
</TS>
