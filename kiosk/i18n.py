"""What the pages say, in Chinese (the default) and English. A key missing from a language is shown in Chinese."""
from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT = {
    "zh": {
        "kiosk": "自助立案", "start": "开始立案", "next": "下一步", "back": "上一步", "finish": "完成",
        "identity": "身份核验", "identity_hint": "请将身份证放在读卡区，或手动输入", "read_card": "读取身份证",
        "name": "姓名", "id_number": "公民身份号码", "typed": "手动输入", "confirm": "确认",
        "what": "选择立案类型", "civil": "民事一审", "enforcement": "执行", "court": "法院", "cause": "案由",
        "notice": "诉讼风险告知", "notice_accept": "我已阅读并知悉上述风险", "capture": "材料采集",
        "scanner": "扫描仪（进纸）", "camera": "高拍仪", "phone": "手机上传", "material": "材料",
        "COMPLAINT": "起诉状", "PARTY_ID": "身份证明", "EVIDENCE": "证据材料", "ENF_APPLICATION": "强制执行申请书", "ENF_BASIS": "执行依据",
        "retake": "重拍", "delete": "删除", "up": "上移", "down": "下移", "pages": "页",
        "form": "立案信息", "prefilled": "系统识别，请核对", "plaintiff": "原告", "plaintiff_id": "原告身份号码",
        "defendant": "被告", "defendant_id": "被告身份号码", "claims": "诉讼请求", "phone_no": "联系电话",
        "sign": "确认并签名", "sign_hint": "请在下方签名", "clear": "清除", "submit": "提交",
        "receipt": "立案回执", "lookup": "查询码", "print": "打印回执", "waiting": "等待法官审核立案",
        "idle": "长时间未操作，已清屏", "scan_phone": "用手机扫描二维码上传材料",
        "no_card": "未读取到身份证：请将身份证平放在读卡区后重试", "no_reader": "本机未配置身份证读卡器，请手动输入", "tick_notice": "请阅读风险告知并勾选确认后继续",
    },
    "en": {
        "kiosk": "Self-service filing", "start": "Start filing", "next": "Next", "back": "Back", "finish": "Done",
        "identity": "Identity", "identity_hint": "Place your ID card on the reader, or type it",
        "read_card": "Read ID card", "name": "Name", "id_number": "ID number", "typed": "Type it",
        "confirm": "Confirm", "what": "What to file", "civil": "Civil, first instance",
        "enforcement": "Enforcement", "court": "Court", "cause": "Cause of action", "notice": "Risk notice",
        "notice_accept": "I have read and understood these risks", "capture": "Your papers",
        "scanner": "Feeder scanner", "camera": "Document camera", "phone": "From your phone",
        "material": "Material", "COMPLAINT": "Complaint", "PARTY_ID": "Identity papers", "EVIDENCE": "Evidence",
        "ENF_APPLICATION": "Enforcement application", "ENF_BASIS": "Judgment to enforce", "retake": "Retake", "delete": "Delete", "up": "Up",
        "down": "Down", "pages": "pages", "form": "Filing details", "prefilled": "Read by the system: check it",
        "plaintiff": "Plaintiff", "plaintiff_id": "Plaintiff's ID number", "defendant": "Defendant",
        "defendant_id": "Defendant's ID number", "claims": "Claims", "phone_no": "Phone", "sign": "Confirm and sign",
        "sign_hint": "Sign below", "clear": "Clear", "submit": "Submit", "receipt": "Filing receipt",
        "lookup": "Lookup code", "print": "Print receipt", "waiting": "Waiting for a filing judge",
        "idle": "The screen was cleared after inactivity", "scan_phone": "Scan the QR code with your phone to upload",
        "no_card": "No card on the reader: place it flat, then try again",
        "no_reader": "This kiosk has no card reader: type your details",
        "tick_notice": "Read the notice and tick the box to go on",
    },
}


def translator(lang: str):
    table, fallback = TEXT.get(lang, TEXT["zh"]), TEXT["zh"]
    return lambda key: table.get(key) or fallback.get(key) or key
