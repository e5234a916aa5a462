"""UI strings in Chinese (first) and English, and the language of a request.

The language comes from `?lang=zh|en` (then remembered in a cookie), else the cookie, else Chinese. Taxonomy labels
are not here: they come from `tracker.classify.taxonomy.label(code, lang)`. A key missing from the catalogue is shown as the
key itself, so a forgotten string is visible rather than blank.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, g, request

from tracker.classify import taxonomy
from tracker.read.lists import POLICY_TYPE_LABELS
from web import context

LANGS = ("zh", "en")
COOKIE = "lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # navigation and chrome
    "site_title": ("NMPA 人工智能医疗器械与政策追踪", "NMPA AI device & policy tracker"),
    "site_short": ("AI 医疗器械追踪", "AI device tracker"),
    "nav_dashboard": ("总览", "Dashboard"),
    "nav_devices": ("批准器械", "Approvals"),
    "nav_policies": ("政策", "Policies"),
    "nav_taxonomy": ("分类体系", "Taxonomy"),
    "nav_companies": ("注册人", "Companies"),
    "nav_sources": ("数据源", "Sources"),
    "nav_subscribe": ("订阅", "Subscribe"),
    "nav_admin": ("管理", "Admin"),
    "nav_api": ("API", "API"),
    "switch_lang": ("English", "中文"),
    "footer": ("数据来自国家药监局、器审中心和中国政府网的公开信息；每条记录均可追溯到存档的原始文件。",
               "Data from public NMPA, CMDE and gov.cn pages; every record links to its archived source."),
    "sample_badge": ("样例数据", "sample"),
    "sample_note": ("本记录来自离线样例数据，并非真实批准信息。", "This record comes from offline sample data, not a real approval."),
    "sample_note_policy": ("本记录来自离线样例数据：标题、文号和日期取自公开信息，正文和附件为样例，并非从官方网站抓取。",
                           "This record comes from offline sample data: title, number and date follow the public "
                           "record, the body and attachments are placeholders, not fetched from the official site."),
    "sample_mode_banner": ("离线样例模式：本站数据是项目附带的样例（samples/），注册证号中的 9xxx 流水号为虚构，并非从官方网站抓取。",
                           "Offline sample mode: the data here is the sample set shipped in samples/ (made-up "
                           "certificate serials 9xxx), not fetched from the official sites."),
    "ai_badge": ("AI", "AI"),
    # dashboard
    "dash_title": ("总览", "Overview"),
    "new_devices": ("新收录器械", "New devices"),
    "new_policies": ("新发布政策", "New policies"),
    "this_week": ("近 7 天", "last 7 days"),
    "this_month": ("近 30 天", "last 30 days"),
    "ai_devices_total": ("AI 器械总数", "AI devices in total"),
    "policies_total": ("政策总数", "Policies in total"),
    "per_area": ("各应用领域 AI 器械数", "AI devices per application area"),
    "per_area_year": ("各领域每年首次注册的 AI 器械", "AI devices per area by first-registration year"),
    "chart_desc": ("堆叠柱状图：横轴为首次注册年份，纵轴为器械数量，颜色表示应用领域。",
                   "Stacked bars: first-registration year across, number of devices up, colour = application area."),
    "no_data": ("暂无数据", "No data yet"),
    "crowding": ("热门病种与冷门病种", "Crowded versus open diseases"),
    "crowded": ("热门", "crowded"),
    "open": ("冷门", "open"),
    "unplaced": ("未归类", "not placed"),
    "crowding_note": ("依据《2024 AI 医疗趋势报告》：心脑血管、骨关节等同类产品超过 15 个为热门病种，肠息肉等为冷门病种。",
                      "After the 2024 AI-in-healthcare trends report: cardio/cerebrovascular and bone/joint diseases "
                      "with more than 15 similar products are crowded; e.g. colorectal polyps are open."),
    "source_health": ("数据源状态", "Source health"),
    "all_sources": ("查看全部数据源", "All sources"),
    # lists and filters
    "devices_title": ("批准器械", "Approved devices"),
    "policies_title": ("政策文件", "Policy documents"),
    "search": ("搜索", "Search"),
    "search_devices_ph": ("产品名称、注册人、注册证号、商品名、描述", "Product, registrant, certificate no., brand, description"),
    "search_policies_ph": ("标题、文号、发文机关、摘要", "Title, document no., issuer, summary"),
    "filters": ("筛选", "Filters"),
    "apply": ("应用", "Apply"),
    "reset": ("清除筛选", "Clear filters"),
    "any": ("全部", "Any"),
    "area": ("应用领域", "Area"),
    "sub_area": ("影像细分", "Sub-area"),
    "function": ("功能", "Function"),
    "disease": ("病种", "Disease"),
    "site": ("部位", "Body site"),
    "signal": ("信号", "Signal"),
    "ai_only": ("仅 AI 器械", "AI only"),
    "ai_only_policies": ("仅 AI 相关", "AI-related only"),
    "class": ("管理类别", "Class"),
    "class_n": ("第{n}类", "Class {n}"),
    "origin": ("产地", "Origin"),
    "origin_domestic": ("境内", "Domestic"),
    "origin_imported": ("进口", "Imported"),
    "origin_hmt": ("港澳台", "HK/Macao/Taiwan"),
    "year": ("首次注册年份", "First-registration year"),
    "issued_from": ("批准日期自", "Issued from"),
    "issued_to": ("批准日期至", "Issued to"),
    "seen_from": ("收录日期自", "Recorded since"),
    "registrant": ("注册人", "Registrant"),
    "catalogue": ("分类编码", "Catalogue code"),
    "data": ("数据", "Data"),
    "data_live": ("真实数据", "Live"),
    "data_sample": ("样例数据", "Sample"),
    "sort": ("排序", "Sort"),
    "sort_-issued": ("批准日期（新→旧）", "Issue date (newest)"),
    "sort_issued": ("批准日期（旧→新）", "Issue date (oldest)"),
    "sort_-seen": ("收录时间（新→旧）", "Recorded (newest)"),
    "sort_name": ("产品名称", "Product name"),
    "sort_registrant": ("注册人", "Registrant"),
    "sort_-year": ("注册年份（新→旧）", "Year (newest)"),
    "sort_cert": ("注册证号", "Certificate no."),
    "sort_-date": ("发布日期（新→旧）", "Date (newest)"),
    "sort_date": ("发布日期（旧→新）", "Date (oldest)"),
    "sort_title": ("标题", "Title"),
    "sort_issuer": ("发文机关", "Issuer"),
    "results": ("共 {n} 条", "{n} results"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "pagination": ("分页", "Pagination"),
    "page_n": ("第 {n} 页", "Page {n}"),
    "showing_range": ("第 {first}–{last} 条，共 {n} 条", "{first}–{last} of {n}"),
    "export": ("导出", "Export"),
    "feed": ("订阅 Atom", "Atom feed"),
    "share_hint": ("当前网址即包含全部筛选条件，可直接分享。", "This page's URL holds every filter: share it as is."),
    "nothing_found": ("没有符合条件的记录。", "Nothing matches these filters."),
    "nothing_found_hint": ("可以减少搜索词、放宽筛选条件，或", "Try fewer search words or fewer filters, or"),
    "nothing_found_query": ("没有与「{q}」匹配的记录。", "Nothing matches \"{q}\"."),
    "first_reg_short": ("首次注册 {y}", "first reg. {y}"),
    "same_reason": ("关联依据（本页各条相同）", "Why linked (the same for every row on this page)"),
    "product_name": ("产品名称", "Product name"),
    "cert_no": ("注册证编号", "Certificate no."),
    "issued_on": ("批准日期", "Issued on"),
    "tags": ("分类标签", "Tags"),
    "policy_type": ("类型", "Type"),
    "issuer": ("发文机关", "Issuer"),
    "stage": ("阶段", "Stage"),
    "scenario": ("应用场景", "Scenario"),
    "date_from": ("发布日期自", "Published from"),
    "date_to": ("发布日期至", "Published to"),
    "published_on": ("发布日期", "Published"),
    "doc_no": ("文号", "Document no."),
    "title": ("标题", "Title"),
    # device detail
    "fields": ("基本信息", "Fields"),
    "brand": ("商品名称", "Brand"),
    "registrant_en": ("注册人（英文）", "Registrant (English)"),
    "credit_code": ("统一社会信用代码", "Credit code"),
    "mgmt_class": ("管理类别", "Management class"),
    "first_reg_year": ("首次注册年份", "First-registration year"),
    "category_code": ("类别代码", "Category code"),
    "catalogue_code": ("分类编码", "Catalogue code"),
    "model_spec": ("规格型号", "Models"),
    "description": ("产品描述", "Description"),
    "device_kind": ("器械类别", "Device kind"),
    "acceptance_no": ("受理号", "Acceptance no."),
    "di_published_on": ("DI 首次发布", "DI first published"),
    "withdrawn_on": ("退市日期", "Withdrawn on"),
    "status": ("状态", "Status"),
    "status_active": ("有效", "active"),
    "status_missing": ("源中缺失", "missing from source"),
    "status_cancelled": ("已注销", "cancelled"),
    "is_ai": ("AI 器械", "AI device"),
    "ai_confidence": ("AI 置信度", "AI confidence"),
    "first_seen": ("首次收录", "First recorded"),
    "updated_at": ("最近更新", "Last updated"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "identifiers": ("产品标识（UDI-DI）", "Device identifiers (UDI-DI)"),
    "events": ("批准证明文件送达信息", "Approval notices"),
    "notice_date": ("公告日期", "Notice date"),
    "correction": ("纠错", "correction"),
    "raw_row": ("原始行", "Raw row"),
    "news": ("相关新闻", "News"),
    "link_reason": ("关联依据", "Why linked"),
    "tags_evidence": ("分类标签与依据", "Tags and their evidence"),
    "facet": ("维度", "Facet"),
    "code": ("代码", "Code"),
    "method": ("方式", "Method"),
    "method_rule": ("规则", "rule"),
    "method_reviewer": ("审核人", "reviewer"),
    "evidence": ("依据", "Evidence"),
    "matched_words": ("匹配词", "matched words"),
    "in_field": ("字段", "field"),
    "rule": ("规则", "rule"),
    "version": ("版本", "version"),
    "confidence": ("置信度", "confidence"),
    "inactive": ("已失效", "inactive"),
    "removed_by_reviewer": ("审核人已移除", "removed by a reviewer"),
    "linked_policies": ("相关政策", "Linked policies"),
    "linked_devices": ("相关器械", "Linked devices"),
    "provenance": ("数据来源", "Provenance"),
    "fetched_at": ("抓取时间", "Fetched"),
    "http_status": ("HTTP 状态", "HTTP status"),
    "sha256": ("SHA-256", "SHA-256"),
    "source": ("数据源", "Source"),
    "raw_copy": ("存档原文", "Archived raw copy"),
    "no_archive": ("无存档", "not archived"),
    "history": ("修改历史", "History"),
    "changed_at": ("时间", "When"),
    "field": ("字段", "Field"),
    "old_value": ("原值", "Old value"),
    "new_value": ("新值", "New value"),
    "run": ("运行", "Run"),
    "as_of": ("历史版本", "As of date"),
    "as_of_show": ("查看", "Show"),
    "as_of_current": ("返回当前", "Back to current"),
    "as_of_heading": ("{date} 时的记录", "The record as of {date}"),
    "as_of_missing": ("该日期时尚未收录此记录。", "The tracker had not recorded this entry yet on that date."),
    "none": ("无", "none"),
    "udi_di": ("产品标识 DI", "UDI-DI"),
    "doc_type": ("类型", "Type"),
    "is_sample": ("样例数据", "Sample data"),
    "products": ("产品", "Products"),
    "companies": ("企业", "Companies"),
    "cert_nos": ("注册证编号", "Certificate nos."),
    "final_version_id": ("正式版本", "Final version"),
    "documents_n": ("{n} 份文件", "{n} documents"),
    "records_n": ("{n} 条记录", "{n} records"),
    "ev_name": ("产品名称", "name"),
    "ev_description": ("产品描述", "description"),
    "ev_structure": ("结构及组成", "structure"),
    "ev_scope": ("适用范围", "scope"),
    "ev_category": ("类别代码", "category"),
    "ev_catalogue_code": ("分类编码", "catalogue code"),
    "ev_mgmt_class": ("管理类别", "class"),
    "ev_title": ("标题", "title"),
    "ev_body": ("正文", "body"),
    "ev_issuer": ("发文机关", "issuer"),
    "ev_doc_no": ("文号", "document no."),
    # policy detail
    "body": ("正文", "Body text"),
    "summary": ("摘要", "Summary"),
    "attachments": ("附件", "Attachments"),
    "written_on": ("成文日期", "Written on"),
    "subject": ("主题分类", "Subject"),
    "url": ("原文链接", "Original URL"),
    "final_version": ("正式版本", "Final version"),
    "stage_draft": ("征求意见", "draft"),
    "stage_issued": ("发布", "issued"),
    "stage_in_force": ("施行", "in force"),
    "stage_revised": ("修订", "revised"),
    "stage_repealed": ("废止", "repealed"),
    # taxonomy, companies, sources
    "taxonomy_title": ("分类体系", "Taxonomy"),
    "taxonomy_intro": ("分类体系来自 shared/seeds 中的五份行业报告；每个节点注明出处，数字为当前带该标签的器械和政策数。",
                       "The taxonomy comes from the five industry reports in shared/seeds; each node names its "
                       "reports, and the numbers count devices and policies carrying the tag."),
    "devices_n": ("器械", "devices"),
    "policies_n": ("政策", "policies"),
    "reports": ("出处", "Reports"),
    "facet_area": ("应用领域", "Application areas"),
    "facet_function": ("功能", "Functions"),
    "facet_signal": ("信号", "Signals"),
    "facet_site": ("部位", "Body sites"),
    "facet_disease": ("病种", "Diseases"),
    "facet_policy_type": ("政策类型", "Policy types"),
    "facet_issuer": ("发文机关", "Issuers"),
    "facet_stage": ("政策阶段", "Policy stages"),
    "facet_scenario": ("卫健委应用场景", "NHC scenarios"),
    "facet_ai": ("AI", "AI"),
    "companies_title": ("注册人", "Registrants"),
    "company": ("注册人", "Registrant"),
    "certificates": ("注册证", "Certificates"),
    "ai_certificates": ("AI 注册证", "AI certificates"),
    "years": ("注册年份", "Years"),
    "certs_over_time": ("逐年注册证", "Certificates over time"),
    "sources_title": ("数据源", "Sources"),
    "last_runs": ("最近运行", "Last runs"),
    "last_good": ("最近成功", "Last good run"),
    "never": ("从未", "never"),
    "ago_days": ("{n} 天前", "{n} days ago"),
    "ago_hours": ("{n} 小时前", "{n} hours ago"),
    "ago_minutes": ("{n} 分钟前", "{n} minutes ago"),
    "outcome": ("结果", "Outcome"),
    "outcome_ok": ("成功", "ok"),
    "outcome_empty": ("无内容", "empty"),
    "outcome_blocked": ("被拦截", "blocked"),
    "outcome_failed": ("失败", "failed"),
    "outcome_running": ("运行中", "running"),
    "outcome_interrupted": ("中断", "interrupted"),
    "started_at": ("开始", "Started"),
    "counts": ("计数", "Counts"),
    "fetched": ("抓取", "fetched"),
    "new": ("新增", "new"),
    "changed": ("变更", "changed"),
    "unchanged": ("未变", "unchanged"),
    "skipped": ("跳过", "skipped"),
    "out_of_scope": ("范围外", "out of scope"),
    "missing": ("缺失", "missing"),
    "error": ("错误", "Error"),
    "login_title": ("登录", "Log in"),
    "login_intro": ("管理与审核账户登录（账户由 tracker user add 创建）。", "Admin and reviewer accounts (created with tracker user add)."),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "substatus_pending": ("待确认", "pending confirmation"),
    "substatus_active": ("已生效", "active"),
    "substatus_unsubscribed": ("已退订", "unsubscribed"),
    "no_runs": ("尚未运行", "no runs yet"),
    "not_found": ("未找到", "Not found"),
    "not_found_text": ("请求的页面或记录不存在。", "The page or record you asked for does not exist."),
    "bad_request": ("请求无效", "Bad request"),
    "bad_request_text": ("请求中的参数无效或超出范围，请检查下列参数。",
                         "Some parameters of the request are malformed or out of range: see below."),
    "unauthorized": ("需要登录", "Login required"),
    "unauthorized_text": ("请先登录。", "Please log in first."),
    "forbidden": ("无权访问", "Forbidden"),
    "forbidden_text": ("您的账户无权访问此页面。", "Your account may not open this page."),
    "method_not_allowed": ("不支持的请求方法", "Method not allowed"),
    "method_not_allowed_text": ("此地址不支持该请求方法。", "This address does not accept this request method."),
    "too_large": ("内容过大", "Too large"),
    "too_large_text": ("请求或所请求的内容超出了允许的大小。", "The request or the content asked for is larger than allowed."),
    "too_many": ("请求过多", "Too many requests"),
    "too_many_text": ("请求过于频繁，请稍后再试。", "Too many requests: please try again later."),
    "server_error": ("服务器错误", "Server error"),
    "server_error_text": ("服务器出错，请稍后再试。", "Something went wrong on the server; please try again later."),
    "refused_too_long": ("超过 {limit} 个字符", "longer than {limit} characters"),
    "refused_control": ("含有控制字符", "contains control characters"),
    "refused_not_whole": ("不是整数", "not a whole number"),
    "refused_range": ("不在 {lo} 至 {hi} 之间", "not between {lo} and {hi}"),
    "refused_not_date": ("不是日期（YYYY-MM-DD）", "not a date (YYYY-MM-DD)"),
    "refused_not_flag": ("只能是 {accepted} 之一", "not one of {accepted}"),
    "refused_not_choice": ("不是可选的值", "not an accepted value"),
    "refused_not_code": ("不是已知的分类代码（{facet}）", "not a known {facet} code"),
    "refused_not_sort": ("不是可用的排序方式", "not a sort key"),
    "refused_past_end": ("超出末页：最后一页是第 {last} 页", "past the end: the last page is {last}"),
    "refused_query_too_long": ("查询字符串超过 {limit} 字节", "the query string is longer than {limit} bytes"),
    "no_such_page": ("没有第 {page} 页：最后一页是第 {last} 页。", "There is no page {page}: the last page is {last}."),
    "last_page_link": ("前往最后一页（第 {last} 页）", "Go to the last page ({last})"),
}

# The five seed reports (tracker.classify.taxonomy.REPORTS, by file stem): (short zh, short en, full zh, full en).
REPORT_TITLES: dict[str, tuple[str, str, str, str]] = {
    "2020_ai_medical_bluebook_36kr": ("36氪 2020 蓝皮书", "36Kr blue book 2020",
                                      "36氪 2020 人工智能医疗产业蓝皮书", "36Kr, 2020 AI-in-healthcare blue book"),
    "2022_china_medical_ai_insight_36kr": ("36氪 2022 洞察", "36Kr insight 2022",
                                           "36氪研究院《2022年中国医疗AI行业洞察报告》",
                                           "36Kr Research, 2022 China medical AI insight report"),
    "2023_china_ai_health_atlas_analysys": ("易观 2023 图谱", "Analysys atlas 2023",
                                            "易观分析《中国医疗健康人工智能行业应用发展图谱2023》",
                                            "Analysys, 2023 atlas of AI applications in China's health sector"),
    "2024_ai_medical_trends_report": ("2024 趋势报告", "Trends report 2024",
                                      "《2024年人工智能在医疗领域的发展趋势深度报告》",
                                      "2024 in-depth report on AI trends in healthcare"),
    "2024_china_ai_medical_report_jiazi": ("甲子光年 2024", "Jiazi 2024",
                                           "甲子光年《2024中国AI医疗产业研究报告》",
                                           "Jiazi Guangnian, 2024 China AI medical industry report"),
}


def report_title(stem: str, full: bool = False) -> str:
    """A seed report's short (or full) citation in the request's language (the file stem when unknown)."""
    names = REPORT_TITLES.get(stem)
    if names is None:
        return stem
    return names[LANGS.index(lang()) + (2 if full else 0)]


def lang() -> str:
    """The language of the current request ("zh" or "en")."""
    if "lang" not in g:
        asked = request.args.get("lang")
        g.lang = asked if asked in LANGS else (request.cookies.get(COOKIE) if request.cookies.get(COOKIE) in LANGS
                                                 else "zh")
    return g.lang


def gettext(key: str, **values: object) -> str:
    """The UI string `key` in the request's language, with `{name}` placeholders filled in."""
    pair = MESSAGES.get(key)
    text = key if pair is None else pair[LANGS.index(lang())]
    return text.format(**values) if values else text


def label(code: str | None) -> str:
    """A taxonomy code's label in the request's language (the code itself when the taxonomy does not know it)."""
    if not code:
        return ""
    if code == "ai":  # the AI flag is a tag of its own facet, outside the taxonomy tree
        return "AI"
    try:
        return taxonomy.label(code, lang())
    except KeyError:
        return code


def switch_url() -> str:
    """The current page in the other language (same path and arguments, `lang` swapped)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = ["en" if lang() == "zh" else "zh"]
    return request.path + "?" + urlencode(args, doseq=True)


def doc_type_label(stored: str | None) -> str:
    """A policy's stored type (the Chinese label of TAXONOMY.md §4) in the request's language."""
    code = next((c for c, zh in POLICY_TYPE_LABELS.items() if zh == stored), None)
    return label(code) if code else (stored or "")


def field_value(name: str, value: str | None) -> str:
    """A stored field value (as the history keeps it: text) in words where the field is a code or a flag."""
    if value is None:
        return ""
    prefixed = {"origin": "origin_", "status": "status_", "stage": "stage_"}
    if name in prefixed and f"{prefixed[name]}{value}" in MESSAGES:
        return gettext(f"{prefixed[name]}{value}")
    if name in ("is_ai", "is_sample") and value in ("true", "false"):
        return gettext("yes" if value == "true" else "no")
    if name == "mgmt_class" and value.isdigit():
        return gettext("class_n", n=value)
    if name == "doc_type":
        return doc_type_label(value)
    return value


def evidence_field(name: str | None) -> str:
    """The label of a classifier evidence field ("name", "description", ...); the name itself when unknown."""
    key = f"ev_{name}"
    return gettext(key) if key in MESSAGES else (name or "")


def remember(response: Response) -> Response:
    """Store an explicitly chosen language in a cookie, so later pages keep it."""
    asked = request.args.get("lang")
    if asked in LANGS and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def sample_mode() -> bool:
    """Whether the site runs on the bundled samples (TRACKER_SAMPLE_MODE, set by `make run` offline): every page
    then says so in a banner, on top of the badge each sample record carries."""
    return context.state().settings.sample_mode


def init_app(app: Flask) -> None:
    """Make `_`, `label` and `lang` available to templates and remember the chosen language."""
    app.after_request(remember)
    app.jinja_env.globals.update(_=gettext, label=label, lang=lang, switch_url=switch_url,
                                  report_title=report_title, evidence_field=evidence_field,
                                  doc_type_label=doc_type_label, field_value=field_value, sample_mode=sample_mode)
