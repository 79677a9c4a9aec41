"""The material the demo knowledge base is generated from: equipment, the faults each kind
of equipment has (symptom, cause, solution steps, in Chinese and English, with a defect
code and its class), and how-to topics. ``kb.demo`` combines them into entries; the
relevance set (``tests/data/kb_relevance.json``) asks for the faults in a caller's words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Equipment:
    model: str
    kind: str          # which faults apply: bus, ac, genset, router
    zh: str            # what it is, in Chinese
    en: str


EQUIPMENT = (
    Equipment("HT6120 城市客车", "bus", "城市客车", "city bus"),
    Equipment("HT6800 中巴", "bus", "中巴车", "midibus"),
    Equipment("KX-200 空调机组", "ac", "冷藏车空调机组", "reefer unit"),
    Equipment("AC-35 变频空调", "ac", "变频空调", "inverter air conditioner"),
    Equipment("GX-9 发电机组", "genset", "柴油发电机组", "diesel generator set"),
    Equipment("GX-15 发电机组", "genset", "静音发电机组", "silent generator set"),
    Equipment("TeleBox 5G 路由器", "router", "5G 路由器", "5G router"),
    Equipment("TeleBox 4G 网关", "router", "4G 网关", "4G gateway"),
)


@dataclass(frozen=True)
class Fault:
    key: str           # stable: the relevance set names it
    kinds: tuple[str, ...]
    code: str          # defect code
    defect_class: str  # service | product
    zh_title: str
    en_title: str
    zh_symptom: str
    en_symptom: str
    zh_cause: str
    en_cause: str
    zh_steps: tuple[str, ...]
    en_steps: tuple[str, ...]


FAULTS = (
    Fault("refrigerant-leak", ("ac", "bus"), "AC-REF-LEAK", "product",
          "制冷剂泄漏导致制冷效果差", "Refrigerant leak: poor cooling",
          "出风口温度偏高，制冷效果明显下降，管路接头处有油渍。",
          "Air from the vents is warm, cooling drops off, oily stains at pipe joints.",
          "管路接头密封圈老化，制冷剂缓慢泄漏。",
          "Aged O-rings at the pipe joints let refrigerant escape slowly.",
          ("用电子检漏仪沿管路检查泄漏点", "更换老化的密封圈并紧固接头", "抽真空后按铭牌加注制冷剂",
           "运行 30 分钟复测出风温度"),
          ("Trace the leak with an electronic detector along the lines",
           "Replace the aged O-rings and tighten the joints",
           "Evacuate and recharge refrigerant to the nameplate amount",
           "Run for 30 minutes and measure the outlet temperature again")),
    Fault("compressor-noise", ("ac",), "AC-CMP-NOISE", "product",
          "压缩机运行异响", "Compressor noise while running",
          "压缩机启动或运行时有咔哒声、尖叫声，机组振动大。",
          "Clicking or screeching from the compressor at start or while running; the unit "
          "vibrates.",
          "压缩机皮带磨损打滑或减震垫损坏。",
          "A worn, slipping compressor belt or broken vibration mounts.",
          ("检查皮带磨损和张紧度", "更换皮带并调整张紧轮", "检查并更换减震垫", "试运行确认无异响"),
          ("Check the belt for wear and tension", "Replace the belt and adjust the tensioner",
           "Inspect and replace the vibration mounts", "Test run and confirm the noise is "
           "gone")),
    Fault("condenser-fan", ("ac",), "AC-FAN-FAIL", "product",
          "冷凝风扇不转导致高压报警", "Condenser fan stopped: high-pressure alarm",
          "机组频繁高压报警停机，冷凝器很烫，风扇不转。",
          "The unit trips on high pressure again and again; the condenser is hot and its "
          "fan does not turn.",
          "风扇电机烧毁或电容失效。",
          "A burnt-out fan motor or a failed run capacitor.",
          ("断电后手拨风扇检查卡滞", "测量电容容量", "更换失效的电容或风扇电机", "清洗冷凝器翅片"),
          ("With the power off, turn the fan by hand to check for binding",
           "Measure the capacitor", "Replace the failed capacitor or fan motor",
           "Clean the condenser fins")),
    Fault("temp-sensor", ("ac",), "AC-SNS-DRIFT", "product",
          "温度传感器漂移导致温度显示不准", "Temperature sensor drift: wrong readings",
          "显示温度与实际温度相差很大，箱内货物结冰或变质。",
          "The displayed temperature is far from the real one; cargo freezes or spoils.",
          "回风温度传感器老化，阻值漂移。",
          "The return-air sensor has aged and its resistance drifted.",
          ("用标准温度计对比读数", "测量传感器阻值", "更换传感器并重新标定"),
          ("Compare the reading with a reference thermometer", "Measure the sensor's "
           "resistance", "Replace the sensor and recalibrate")),
    Fault("door-pump", ("bus",), "BUS-DOOR-PUMP", "product",
          "车门气泵故障，车门无法关闭", "Door air pump failure: door will not close",
          "乘客门关不上或关闭缓慢，能听到漏气声。",
          "The passenger door will not close or closes slowly; air can be heard leaking.",
          "车门气泵膜片破损或电磁阀卡滞。",
          "A torn diaphragm in the door pump or a sticking solenoid valve.",
          ("检查气路压力是否达到 0.6 MPa", "检查电磁阀动作",
           "更换车门气泵或电磁阀", "调整关门速度"),
          ("Check the air pressure reaches 0.6 MPa", "Check the solenoid valve operates",
           "Replace the door pump or the solenoid valve", "Adjust the closing speed")),
    Fault("starter-relay", ("bus", "genset"), "ENG-START-RLY", "product",
          "起动继电器烧坏，发动机无法启动", "Starter relay burnt: engine will not start",
          "打钥匙或按启动按钮没有反应，仪表正常亮。",
          "Nothing happens when the key is turned or the start button pressed; the "
          "dashboard lights up.",
          "起动继电器触点烧蚀。",
          "The starter relay's contacts are burnt.",
          ("测量蓄电池电压是否高于 24 V", "短接继电器测试起动机", "更换起动继电器"),
          ("Check the battery is above 24 V", "Bridge the relay to test the starter",
           "Replace the starter relay")),
    Fault("battery-flat", ("bus", "genset"), "ENG-BATT-LOW", "service",
          "蓄电池亏电，早上无法启动", "Flat battery: no start in the morning",
          "停放一夜后启动无力或无法启动，天冷时更明显。",
          "After standing overnight it cranks weakly or not at all, worse in cold weather.",
          "长期短途行驶充电不足，或有用电设备未关闭。",
          "Short trips never recharge the battery, or a load was left switched on.",
          ("测量静态电压和漏电电流", "给蓄电池充电或更换", "提醒客户停车后关闭用电设备"),
          ("Measure the resting voltage and the parasitic drain", "Charge or replace the "
           "battery", "Remind the customer to switch off loads when parked")),
    Fault("overheating", ("bus", "genset"), "ENG-OVERHEAT", "product",
          "发动机水温过高报警", "Engine overheating alarm",
          "水温表指针进入红区，报警灯亮，动力下降。",
          "The temperature gauge goes into the red, the warning light comes on, power drops.",
          "冷却液不足、节温器卡滞或水泵损坏。",
          "Low coolant, a stuck thermostat or a failed water pump.",
          ("停机冷却后检查冷却液液位", "检查节温器开启温度",
           "检查水泵是否漏水", "更换损坏部件并排气"),
          ("Let it cool, then check the coolant level", "Check the thermostat opens at its "
           "temperature", "Check the water pump for leaks", "Replace the failed part and "
           "bleed the system")),
    Fault("fuel-filter", ("genset", "bus"), "ENG-FUEL-FLT", "service",
          "燃油滤清器堵塞导致动力不足", "Clogged fuel filter: loss of power",
          "加负载时转速下降、冒黑烟，严重时熄火。",
          "Speed drops under load, black smoke, and it may stall.",
          "燃油滤清器超期未换，油中杂质堵塞滤芯。",
          "The fuel filter was not changed on time and dirt in the fuel clogged it.",
          ("更换燃油滤清器", "排放油水分离器中的水", "按保养周期提醒客户"),
          ("Replace the fuel filter", "Drain the water separator", "Remind the customer of "
           "the service interval")),
    Fault("genset-voltage", ("genset",), "GEN-VOLT-UNST", "product",
          "发电机输出电压不稳", "Unstable generator output voltage",
          "输出电压忽高忽低，灯光闪烁，设备报警。",
          "The output voltage swings up and down, lights flicker, equipment alarms.",
          "自动电压调节器（AVR）故障或转速不稳。",
          "A faulty automatic voltage regulator (AVR) or unsteady engine speed.",
          ("空载测量输出电压和频率", "检查调速器", "更换 AVR 并调整电压"),
          ("Measure voltage and frequency without load", "Check the governor",
           "Replace the AVR and set the voltage")),
    Fault("router-no-signal", ("router",), "NET-NO-SIGNAL", "product",
          "路由器无信号或信号弱", "Router shows no or weak signal",
          "信号灯不亮或只有一格，网速很慢，经常断网。",
          "The signal light is off or shows one bar; the internet is slow and drops often.",
          "天线松动或安装位置信号覆盖差。",
          "A loose antenna or a spot with poor coverage.",
          ("检查天线是否拧紧", "将设备移到窗边或高处",
           "在管理页面查看 RSRP 数值", "必要时加装外置天线"),
          ("Check the antennas are screwed on", "Move the device near a window or higher up",
           "Read the RSRP value on the admin page", "Fit an external antenna if needed")),
    Fault("sim-not-detected", ("router",), "NET-SIM-ERR", "service",
          "无法识别 SIM 卡", "SIM card not detected",
          "开机后提示无 SIM 卡，无法上网。",
          "After power-on it says there is no SIM card and cannot go online.",
          "SIM 卡插反、卡托变形或卡未开通数据业务。",
          "The SIM is inserted the wrong way, the tray is bent, or data is not enabled on "
          "the card.",
          ("断电后重新插卡", "检查卡托", "确认运营商已开通数据业务"),
          ("Power off and reinsert the SIM", "Check the tray", "Confirm data service is "
           "enabled by the carrier")),
    Fault("wifi-drops", ("router",), "NET-WIFI-DROP", "product",
          "Wi-Fi 频繁掉线", "Wi-Fi keeps dropping",
          "手机和电脑连上 Wi-Fi 后几分钟就断开，需要重连。",
          "Phones and laptops lose the Wi-Fi a few minutes after connecting.",
          "固件缺陷导致无线模块重启，或信道干扰严重。",
          "A firmware bug restarts the wireless module, or the channel is crowded.",
          ("升级到最新固件", "更换无线信道", "关闭自动省电模式"),
          ("Upgrade to the latest firmware", "Change the wireless channel", "Turn off the "
           "automatic power saving")),
    Fault("power-adapter", ("router",), "NET-PWR-ADPT", "product",
          "电源适配器发热后自动重启", "Power adapter overheats: device reboots",
          "设备每隔一段时间自动重启，电源适配器很烫。",
          "The device reboots every so often; the power adapter is hot.",
          "电源适配器功率不足或老化。",
          "An undersized or aged power adapter.",
          ("更换原装 12 V 2 A 电源适配器", "检查插座电压"),
          ("Replace it with the original 12 V 2 A adapter", "Check the outlet voltage")),
    Fault("late-visit", ("bus", "ac", "genset", "router"), "SVC-LATE-VISIT", "service",
          "上门服务超时未到", "Technician arrived late",
          "客户投诉约定时间内技术员没有上门，也没有提前通知。",
          "The customer complains the technician did not come in the agreed window and "
          "gave no notice.",
          "派工时未考虑路程时间，技术员未按规定提前电话确认。",
          "Dispatch ignored travel time and the technician did not call ahead as required.",
          ("向客户致歉并重新约定时间", "派工时预留路程时间", "技术员出发前电话确认"),
          ("Apologise and agree a new time", "Allow for travel time when dispatching",
           "Technicians call before they set out")),
    Fault("repeat-repair", ("bus", "ac", "genset", "router"), "SVC-REPEAT", "service",
          "维修后短期内同一故障复发", "Same fault back soon after a repair",
          "维修后不到一个月同一故障再次出现，客户要求返修。",
          "Less than a month after the repair the same fault is back and the customer "
          "wants it redone.",
          "只更换了损坏件，没有找到根本原因。",
          "Only the broken part was replaced; the root cause was not found.",
          ("按返修流程优先派工", "由资深技术员复查根本原因", "记录缺陷代码以便分析"),
          ("Dispatch it first under the repeat-repair rule", "A senior technician looks "
           "for the root cause", "Record the defect code for analysis")),
)


@dataclass(frozen=True)
class Topic:
    key: str
    area: str          # 服务 / 销售 / 市场 (service, sales, marketing)
    zh_title: str
    en_title: str
    zh_body: str
    en_body: str
    per_model: bool = False   # one article per equipment model


TOPICS = (
    Topic("warranty-policy", "服务/保修", "保修政策说明", "Warranty policy",
          "标准保修自交付之日起计算，延长保修和服务合同按合同约定。以客户报修当天为准判断是否在保。"
          "在保维修不向客户收费，人为损坏除外。",
          "Standard warranty runs from the delivery date; extended warranty and service "
          "contracts follow their terms. Whether a repair is in warranty is decided on the "
          "day the customer reported the fault. In-warranty repairs are free except for "
          "damage caused by misuse."),
    Topic("repair-charges", "服务/收费", "保外维修收费标准", "Charges for paid repairs",
          "保外维修按工时乘以工时单价收取人工费，部分服务类型按固定费用收取，备件按目录价格收取。"
          "结算时出具费用明细。",
          "Out of warranty, labour is charged as hours times the labour rate, some service "
          "types at a flat fee, and parts at catalogue prices. An itemised bill is issued "
          "at settlement."),
    Topic("book-visit", "服务/报修", "如何预约上门服务", "How to book an on-site visit",
          "客户可拨打服务热线或在微信公众号报修，说明设备型号、序列号、故障现象和地址。"
          "客服会在两小时内确认上门时间。",
          "Customers call the service line or report on the WeChat account with the model, "
          "serial number, what is wrong and the address. The desk confirms a visit time "
          "within two hours."),
    Topic("maintenance", "服务/保养", "定期保养指南", "Routine maintenance guide",
          "每 250 小时检查机油、滤清器和皮带，每 500 小时更换机油和燃油滤清器，每年清洗散热器。",
          "Every 250 hours check oil, filters and belts; every 500 hours change the oil and "
          "the fuel filter; clean the radiator once a year.", per_model=True),
    Topic("serial-number", "服务/报修", "如何找到设备序列号", "Where to find the serial number",
          "序列号印在设备铭牌上，铭牌一般位于机身侧面或背面，也可在购买合同中查到。",
          "The serial number is printed on the nameplate, usually on the side or back of the "
          "unit, and is also in the purchase contract."),
    Topic("invoice", "服务/收费", "维修发票开具说明", "Getting an invoice for a repair",
          "结算完成后可开具增值税发票，开票信息以客户主数据中的开票方为准。",
          "A VAT invoice is issued after settlement, made out to the bill-to party in the "
          "customer's master data."),
    Topic("complaint", "服务/投诉", "投诉处理流程", "How complaints are handled",
          "投诉在一个工作日内响应，三个工作日内给出处理方案，处理结果回访客户确认。",
          "A complaint gets a response within one working day and a resolution within "
          "three; the customer is called back to confirm."),
    Topic("spare-parts", "服务/备件", "备件订购与到货时间", "Ordering spare parts",
          "常用备件在维修站有库存，缺货备件从中心仓调拨，一般三到五天到货。",
          "Common parts are stocked at the service stations; others are transferred from "
          "the central warehouse and arrive in three to five days."),
    Topic("extended-warranty", "销售/延保", "延长保修购买说明", "Buying an extended warranty",
          "标准保修到期前可购买一年或两年延保，延保期内维修人工和备件免费。",
          "Before the standard warranty ends, one or two more years can be bought; labour "
          "and parts are free during the extension."),
    Topic("trade-in", "销售/以旧换新", "以旧换新活动", "Trade-in offer",
          "旧设备可折价抵扣新设备货款，折价按使用年限和状况评估。",
          "An old unit is taken in part exchange for a new one, valued by age and "
          "condition."),
    Topic("quote", "销售/报价", "如何获取报价", "How to get a quote",
          "销售顾问会根据用途和数量提供报价，报价有效期三十天。",
          "A sales adviser quotes by use and quantity; a quote is valid for thirty days."),
    Topic("financing", "销售/金融", "分期付款方案", "Payment by instalments",
          "可选择十二期或二十四期分期付款，需提供营业执照和银行流水。",
          "Twelve or twenty-four monthly instalments are available with a business "
          "licence and bank statements."),
    Topic("campaign", "市场/活动", "年度服务月活动", "Annual service month",
          "每年九月为服务月，免费检测，备件九折，预约即送保养套餐。",
          "Every September is service month: free inspection, 10 % off parts and a free "
          "maintenance kit with a booking."),
    Topic("wechat", "市场/渠道", "微信公众号报修与查询", "Reporting and tracking on WeChat",
          "关注公众号后可报修、查询维修进度和下载电子发票。",
          "Follow the WeChat account to report faults, track repairs and download "
          "e-invoices."),
    Topic("user-manual", "服务/资料", "使用说明书下载", "Downloading the user manual",
          "各型号使用说明书可在官网服务支持页面下载 PDF 版本。",
          "Every model's user manual can be downloaded as a PDF from the support page of "
          "the website.", per_model=True),
)
