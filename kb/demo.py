"""The demo knowledge base, generated (not copied): for every piece of equipment and every
fault its kind has, a defect entry in Chinese and in English; for every fault and kind,
a troubleshooting article; the how-to topics for service, sales and marketing (some per
model); the defect codes; and the synonyms an editor would keep for how callers say
things. Over 200 entries, the same every time (a fixed seed), made through
``kb.importer`` so that loading them again changes nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.users.models import User
from kb.demo_content import EQUIPMENT, FAULTS, TOPICS, Equipment, Fault
from kb.importer import ImportResult, import_items
from kb.models import DefectClass, DefectCode, KbSynonym

KIND_NAMES = {"bus": ("客车", "Buses"), "ac": ("空调与冷机", "Air conditioning"),
              "genset": ("发电机组", "Generator sets"), "router": ("通信设备", "Networking")}

SYNONYMS = (
    "不凉, 不制冷, 制冷效果差, 不够凉, 热风, 风是热的",
    "warm, not cooling, poor cooling, cooling drops",
    "响, 异响, 噪音, 吱吱叫, 响声, 咔哒声",
    "noise, screeching, squeal, rattling, clicking",
    "关不上, 无法关闭, 关不住",
    "won't shut, will not close, won't close",
    "打不着火, 无法启动, 启动不了, 没反应",
    "won't crank, will not start, nothing happens, no start",
    "电瓶, 蓄电池, 电池",
    "dead battery, flat battery",
    "开锅, 水温过高, 水温高, 温度过高",
    "boiling over, overheating, in the red",
    "没劲, 动力不足, 带不动, 动力下降",
    "no power, loss of power, stalls, power drops",
    "电话卡, SIM 卡, 手机卡, 插卡",
    "recognised, recognized, detected",
    "无线网, Wi-Fi, wifi, 无线",
    "disconnecting, dropping, drops, dropped",
    "掉线, 断开, 断网, 掉",
    "没来, 未到, 超时未到, 迟到",
    "never showed up, arrived late, did not come",
    "又坏了, 复发, 返修, 再次出现",
    "came back, back soon, same fault back",
    "电压不稳, 忽高忽低, 闪",
    "fluctuates, unstable, flicker",
    "信号弱, 一格, 没信号, 无信号",
    "one bar, weak signal, no signal",
    "自己重启, 自动重启",
    "restarts by itself, reboots",
    "收费, 费用, 多少钱",
    "cost, charges, charged, price",
)

_ZH_OPENINGS = ("客户反映：", "常见现象：", "现场描述：", "报修内容：")
_EN_OPENINGS = ("Customers report: ", "Typical complaint: ", "What the caller says: ",
                "Seen on site: ")


def _slug(model: str) -> str:
    """"TeleBox 5G 路由器" → "telebox-5g": the model's Latin words."""
    return "-".join(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", model.lower()))


def _steps(steps: tuple[str, ...]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))


def _defect(rng: random.Random, fault: Fault, eq: Equipment, lang: str) -> dict[str, Any]:
    zh = lang == "zh"
    kind_zh, kind_en = KIND_NAMES[eq.kind]
    title = f"{eq.model}：{fault.zh_title}" if zh else f"{eq.model}: {fault.en_title}"
    opening = rng.choice(_ZH_OPENINGS if zh else _EN_OPENINGS)
    body = (f"{opening}{fault.zh_symptom}\n\n适用于{eq.zh}（{eq.model}）。"
            f"如按以下步骤处理后仍未解决，请联系维修站派工。" if zh else
            f"{opening}{fault.en_symptom}\n\nApplies to the {eq.en} ({eq.model}). If the "
            f"steps below do not fix it, ask the service station to send a technician.")
    return {"key": f"D-{fault.key}-{_slug(eq.model)}-{lang}", "kind": "defect", "lang": lang,
            "title": title, "body": body, "product_model": eq.model,
            "category": f"服务/故障/{kind_zh}", "category_en": f"Service/Faults/{kind_en}",
            "symptom": fault.zh_symptom if zh else fault.en_symptom,
            "cause": fault.zh_cause if zh else fault.en_cause,
            "solution": _steps(fault.zh_steps if zh else fault.en_steps),
            "defect_code": fault.code, "tags": [fault.code]}


def _guide(fault: Fault, kind: str, models: list[str], lang: str) -> dict[str, Any]:
    zh = lang == "zh"
    kind_zh, kind_en = KIND_NAMES[kind]
    title = (f"{kind_zh}故障处理：{fault.zh_title}" if zh else
             f"Troubleshooting {kind_en.lower()}: {fault.en_title}")
    body = (f"## 现象\n{fault.zh_symptom}\n\n## 原因\n{fault.zh_cause}\n\n## 处理步骤\n"
            f"{_steps(fault.zh_steps)}\n\n适用型号：{'、'.join(models)}。" if zh else
            f"## Symptom\n{fault.en_symptom}\n\n## Cause\n{fault.en_cause}\n\n## Steps\n"
            f"{_steps(fault.en_steps)}\n\nModels: {', '.join(models)}.")
    return {"key": f"G-{fault.key}-{kind}-{lang}", "kind": "article", "lang": lang,
            "title": title, "body": body, "models": models,
            "category": f"服务/故障/{kind_zh}", "category_en": f"Service/Faults/{kind_en}"}


def demo_rows(seed: int = 20261206) -> Iterator[dict[str, Any]]:
    """Every demo entry as an import object, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 (varied demo text, not a secret)
    for fault in FAULTS:
        for kind in fault.kinds:
            fitting = [eq for eq in EQUIPMENT if eq.kind == kind]
            for lang in ("zh", "en"):
                for eq in fitting:
                    yield _defect(rng, fault, eq, lang)
                yield _guide(fault, kind, [eq.model for eq in fitting], lang)
    areas_en = {"服务": "Service", "销售": "Sales", "市场": "Marketing",
                "保修": "Warranty", "收费": "Charges", "报修": "Reporting a fault",
                "保养": "Maintenance", "投诉": "Complaints", "备件": "Spare parts",
                "延保": "Extended warranty", "以旧换新": "Trade-in", "报价": "Quotes",
                "金融": "Financing", "活动": "Campaigns", "渠道": "Channels",
                "资料": "Documents"}
    for topic in TOPICS:
        targets = EQUIPMENT if topic.per_model else (None,)
        for eq in targets:
            suffix = f"-{_slug(eq.model)}" if eq else ""
            for lang in ("zh", "en"):
                zh = lang == "zh"
                title = topic.zh_title if zh else topic.en_title
                if eq:
                    title = f"{eq.model}{title}" if zh else f"{title}: {eq.model}"
                top, _, rest = topic.area.partition("/")
                yield {"key": f"T-{topic.key}{suffix}-{lang}", "kind": "article", "lang": lang,
                       "title": title, "body": topic.zh_body if zh else topic.en_body,
                       "models": [eq.model] if eq else [],
                       "category": topic.area,
                       "category_en": f"{areas_en[top]}/{areas_en[rest]}"}


def ensure_defect_codes(session: Session) -> dict[str, int]:
    have = {c.code: c.id for c in session.scalars(select(DefectCode))}
    for fault in FAULTS:
        if fault.code not in have:
            code = DefectCode(code=fault.code, name=fault.zh_title, name_en=fault.en_title,
                              defect_class=DefectClass(fault.defect_class))
            session.add(code)
            session.flush()
            have[fault.code] = code.id
    return have


def ensure_synonyms(session: Session) -> int:
    have = set(session.scalars(select(KbSynonym.terms)))
    added = [KbSynonym(terms=terms) for terms in SYNONYMS if terms not in have]
    session.add_all(added)
    session.flush()
    return len(added)


def load_demo_kb(session: Session, actor: User | None = None) -> ImportResult:
    """The demo entries, codes and synonyms not there yet (or changed since)."""
    ensure_defect_codes(session)
    ensure_synonyms(session)
    return import_items(session, actor, list(demo_rows()), commit_every=10**9)
