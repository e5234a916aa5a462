"""WeCom (企业微信), DingTalk (钉钉), Feishu/Lark (飞书) group bots and Slack incoming webhooks, posted by hand.

Why not through Apprise (which has plugins for these): its notify() answers only True/False, so the platform's answer
never reaches the admin page; it counts HTTP 200 with a non-zero errcode/code in the body as success, while WeCom,
DingTalk and Feishu report most failures exactly that way (bad signature, keyword filter, rate limit); it cannot sign
Feishu/Lark requests; and it fixes the hosts, so neither a Lark tenant nor the local stand-ins can be used. Each
platform's public documentation gives the body, the signature and the error codes used here:
  WeCom     POST <webhook>?key=…  {"msgtype":"markdown","markdown":{"content"}} ≤ 4096 bytes;
            answer {"errcode":0,"errmsg":"ok"}; 45009 = too many messages (20 a minute).
  DingTalk  POST <webhook>?access_token=…[&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(key=secret,
            msg=timestamp+"\\n"+secret)>]  {"msgtype":"markdown","markdown":{"title","text"}} ≤ 20000 bytes;
            answer {"errcode":0}; 130101 = sending too fast; the timestamp must be within an hour.
  Feishu    POST <webhook>  {"timestamp":"<s>","sign":"<base64 HMAC-SHA256(key=timestamp+"\\n"+secret, msg=empty)>",
            "msg_type":"post","content":{"post":{"zh_cn":{"title","content":[[tags]]}}}}, body ≤ 20 KB;
            answer {"code":0} (older: {"StatusCode":0}); 19021 = bad signature, 11232 = rate limited.
  Slack     POST <incoming webhook>  {"text", "blocks":[{"type":"section","text":{"type":"mrkdwn"}}]} (a section's
            text ≤ 3000 characters); answer 200 "ok"; errors are HTTP 4xx with a word (invalid_payload, no_service),
            429 with Retry-After.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx

from tracker.i18n import gettext
from tracker.notify.message import as_markdown, as_text, fit, remaining
from tracker.notify.transport import HttpKind, Outgoing, PermanentFailure, Target, TemporaryFailure, json_answer

WECOM_LIMIT = 4096
DINGTALK_LIMIT = 20000
FEISHU_LIMIT = 20000
SLACK_SECTION_LIMIT = 3000


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _with_query(url: str, extra: str) -> str:
    return url + ("&" if "?" in url else "?") + extra


def _errcode(body: dict[str, Any], field: str, temporary: set[int], platform: str) -> str:
    code = body.get(field)
    answer = json.dumps(body, ensure_ascii=False)
    if code == 0:
        return answer
    if code in temporary:
        raise TemporaryFailure(f"{platform} answered {field} {code}", answer)
    raise PermanentFailure(f"{platform} answered {field} {code}", answer)


class WeCom(HttpKind):
    """A WeCom group bot: markdown within 4096 bytes."""

    name = "wecom"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        content = fit(lambda n: as_markdown(payload, n), payload, WECOM_LIMIT)
        return Outgoing(target.url, _json({"msgtype": "markdown", "markdown": {"content": content}}))

    def judge(self, response: httpx.Response) -> str:
        return _errcode(json_answer(response), "errcode", {45009, -1}, "WeCom")


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's `sign` query value (already URL-encoded)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256)
    return quote_plus(base64.b64encode(mac.digest()).decode("ascii"))


class DingTalk(HttpKind):
    """A DingTalk group bot: markdown, signed in the query when the bot has a secret (加签)."""

    name = "dingtalk"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        text = fit(lambda n: as_markdown(payload, n), payload, DINGTALK_LIMIT)
        url = target.url
        if target.secret:
            ts = str(int(now.timestamp() * 1000))
            url = _with_query(url, f"timestamp={ts}&sign={dingtalk_sign(target.secret, ts)}")
        return Outgoing(url, _json({"msgtype": "markdown", "markdown": {"title": payload["headline"], "text": text}}))

    def judge(self, response: httpx.Response) -> str:
        return _errcode(json_answer(response), "errcode", {130101, -1}, "DingTalk")


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu/Lark's `sign` body field: the key is timestamp + newline + secret, the message is empty."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def _feishu_post(payload: dict[str, Any], items: int) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = []
    if payload.get("note"):
        rows.append([{"tag": "text", "text": payload["note"]}])
    for it in payload["items"][:items]:
        rows.append([{"tag": "text", "text": f"{it['label']}｜"}, {"tag": "a", "text": it["title"], "href": it["url"]}])
        facts = " · ".join(x for x in (it["company"], it["ref"], it["areas"], it["date"]) if x)
        if facts:
            rows.append([{"tag": "text", "text": facts}])
    rest = remaining(payload, min(items, len(payload["items"])))
    if rest > 0:
        rows.append([{"tag": "text", "text": gettext("notify_more", payload["lang"], num=rest)}])
    if payload.get("more_url"):
        rows.append([{"tag": "a", "text": gettext("notify_view_all", payload["lang"]), "href": payload["more_url"]}])
    locale = "zh_cn" if payload["lang"] == "zh" else "en_us"
    return {"msg_type": "post", "content": {"post": {locale: {"title": payload["headline"], "content": rows}}}}


class Feishu(HttpKind):
    """A Feishu/Lark custom bot: a rich-text post, signed in the body when the bot has a secret (签名校验)."""

    name = "feishu"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        signed: dict[str, Any] = {}
        if target.secret:
            ts = str(int(now.timestamp()))
            signed = {"timestamp": ts, "sign": feishu_sign(target.secret, ts)}
        for n in range(len(payload["items"]), -1, -1):
            body = _json({**signed, **_feishu_post(payload, n)})
            if len(body) <= FEISHU_LIMIT:
                break
        return Outgoing(target.url, body)

    def judge(self, response: httpx.Response) -> str:
        body = json_answer(response)
        field = "code" if "code" in body else "StatusCode"
        return _errcode(body, field, {11232, 9499}, "Feishu")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack(HttpKind):
    """A Slack incoming webhook: one mrkdwn section (≤ 3000 characters) and the plain text as the fallback."""

    name = "slack"

    def build(self, target: Target, payload: dict[str, Any], uid: str, now: datetime) -> Outgoing:
        def mrkdwn(n: int) -> str:
            escaped = {**payload, "headline": _slack_escape(payload["headline"]),
                       "items": [{**it, "title": _slack_escape(it["title"])} for it in payload["items"]]}
            return as_markdown(escaped, n, link=lambda text, url: f"<{url}|{text}>", bold="*", heading="*") \
                .replace(f"*{escaped['headline']}", f"*{escaped['headline']}*", 1)

        # Characters, not bytes: a 3000-byte budget keeps any text under 3000 characters.
        section = fit(mrkdwn, payload, SLACK_SECTION_LIMIT)
        body = {"text": fit(lambda n: as_text(payload, n), payload, SLACK_SECTION_LIMIT),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": section}}]}
        return Outgoing(target.url, _json(body))

    def judge(self, response: httpx.Response) -> str:
        if response.text.strip() != "ok":
            raise PermanentFailure("Slack did not answer ok", response.text)
        return "ok"
