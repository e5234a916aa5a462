"""The subscription pages end to end with a real SMTP server: double opt-in from the received email, consent
records, manage link, RFC 8058 one-click unsubscribe (GET shows a page, POST unsubscribes), invalid links."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from mailkit import BASE_URL, T0, add_device
from sqlalchemy import select

from tracker.mail.outbox import enqueue_digests, send_pending
from tracker.mail.tokens import InvalidToken, make_token, read_token
from tracker.store.models import Consent, Outbox, Subscriber, Subscription
from web import create_app

NOW = T0 + timedelta(hours=3)


@pytest.fixture
def app(mail_settings):
    """The app with mail settings (its emails reach the test's SMTP sink)."""
    return create_app(mail_settings, clock=lambda: NOW)


def csrf(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def subscribe(client, email: str, **fields) -> object:
    data = {"csrf_token": csrf(client, "/subscribe"), "email": email, "frequency": "daily",
            "include_devices": "1", "include_policies": "1", "ai_only": "1", "consent": "1", **fields}
    return client.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": "203.0.113.7"},
                       headers={"User-Agent": "pytest-browser"})


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL), url
    return urlsplit(url).path


def send_all(sessions, settings):
    return send_pending(sessions, settings, now=lambda: NOW)


def test_double_opt_in_from_the_email_link(client, sessions, mail_settings, sink):
    response = subscribe(client, "Reader@Example.ORG", areas=["medical_imaging.ct"], functions=["detection"],
                         keywords="肺结节, 冠脉")
    assert response.status_code == 200 and "确认邮件" in response.get_data(as_text=True)
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
        sub = s.execute(select(Subscription)).scalar_one()
        consent = s.execute(select(Consent)).scalar_one()
    assert (subscriber.email, subscriber.status) == ("Reader@example.org", "pending")
    assert sub.filters["areas"] == ["medical_imaging.ct"] and sub.filters["keywords"] == ["肺结节", "冠脉"]
    assert (consent.action, consent.ip, consent.user_agent, consent.at) == ("subscribe", "203.0.113.7",
                                                                           "pytest-browser", NOW)
    assert "I agree" in consent.wording and "medical_imaging.ct" in consent.wording

    # Nothing is sent to a pending address except the confirmation, which goes out through the outbox.
    assert send_all(sessions, mail_settings).sent == 1
    (mail,) = sink.messages()
    assert mail["To"] == "Reader@example.org" and "List-Unsubscribe" not in mail
    link = re.search(rf"{re.escape(BASE_URL)}/subscribe/confirm/\S+", mail.get_body(("plain",)).get_content())
    confirm_path = path_of(link.group(0))

    page = client.get(confirm_path)
    assert page.status_code == 200 and "确认订阅" in page.get_data(as_text=True)
    with sessions() as s:
        assert s.execute(select(Subscriber.status)).scalar_one() == "pending"  # a GET confirms nothing
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = client.post(confirm_path, data={"csrf_token": token})
    assert done.status_code == 303 and "/subscribe/manage/" in done.headers["Location"]
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
        actions = s.execute(select(Consent.action).order_by(Consent.id)).scalars().all()
    assert (subscriber.status, subscriber.confirmed_at) == ("active", NOW)
    assert actions == ["subscribe", "confirm"]
    manage = client.get(done.headers["Location"])
    assert manage.status_code == 200 and 'value="medical_imaging.ct" checked' in manage.get_data(as_text=True)


def test_confirm_needs_the_csrf_token(client, sessions, mail_settings, sink):
    subscribe(client, "reader@example.org")
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
    token = make_token(mail_settings.secret_key, "confirm", subscriber.id, subscriber.email)
    assert client.post(f"/subscribe/confirm/{token}").status_code == 400
    with sessions() as s:
        assert s.execute(select(Subscriber.status)).scalar_one() == "pending"


@pytest.fixture
def active_reader(client, sessions, mail_settings, sink):
    """A confirmed subscriber who has received one digest (the message is returned)."""
    subscribe(client, "reader@example.org")
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
    token = make_token(mail_settings.secret_key, "confirm", subscriber.id, subscriber.email)
    page = client.get(f"/subscribe/confirm/{token}")
    client.post(f"/subscribe/confirm/{token}",
                data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]})
    with sessions.begin() as s:
        add_device(s, "肺结节CT图像辅助检测软件", seen=NOW + timedelta(hours=1), areas=["medical_imaging"])
    send_all(sessions, mail_settings)
    enqueue_digests(sessions, mail_settings, "daily", NOW + timedelta(days=1))
    send_all(sessions, mail_settings)
    return next(m for m in sink.messages() if "List-Unsubscribe" in m)


def test_one_click_unsubscribe(client, sessions, mail_settings, active_reader):
    url = str(active_reader["List-Unsubscribe"]).strip("<>")
    path = path_of(url)

    # A GET (a person, or a mail scanner following links) only shows a confirmation page.
    page = client.get(path)
    assert page.status_code == 200 and "退订" in page.get_data(as_text=True)
    with sessions() as s:
        assert s.execute(select(Subscriber.status)).scalar_one() == "active"

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, with no cookie and no CSRF token.
    fresh = create_app(mail_settings, clock=lambda: NOW).test_client()
    response = fresh.post(path, data="List-Unsubscribe=One-Click",
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
        subs = s.execute(select(Subscription)).scalars().all()
        last = s.execute(select(Consent).order_by(Consent.id.desc()).limit(1)).scalar_one()
    assert (subscriber.status, subscriber.unsubscribed_at) == ("unsubscribed", NOW)
    assert [s.active for s in subs] == [False]
    assert last.action == "unsubscribe" and last.email == "reader@example.org"
    # Repeating it is harmless, and the link keeps working.
    assert fresh.post(path, data="List-Unsubscribe=One-Click",
                      content_type="application/x-www-form-urlencoded").status_code == 200
    # No digest goes out any more.
    enqueue_digests(sessions, mail_settings, "daily", NOW + timedelta(days=2))
    with sessions() as s:
        assert s.execute(select(Outbox.period_key).where(Outbox.kind == "digest")).scalars().all() == [
            "daily:2026-11-21"]


def test_manage_page_from_the_digest_changes_preferences(client, sessions, mail_settings, active_reader):
    body = active_reader.get_body(("plain",)).get_content()
    manage_path = path_of(re.search(rf"{re.escape(BASE_URL)}/subscribe/manage/\S+", body).group(0))
    token = csrf(client, manage_path)
    response = client.post(manage_path, data={
        "csrf_token": token, "frequency": "weekly", "include_policies": "1", "diseases": ["lung_nodule"]})
    assert response.status_code == 200
    with sessions() as s:
        sub = s.execute(select(Subscription)).scalar_one()
        last = s.execute(select(Consent).order_by(Consent.id.desc()).limit(1)).scalar_one()
    assert (sub.frequency, sub.include_devices, sub.include_policies) == ("weekly", False, True)
    assert sub.filters["diseases"] == ["lung_nodule"] and sub.filters["ai_only"] is False
    assert last.action == "change" and '"weekly"' in last.wording


def test_the_public_form_cannot_change_an_active_subscription(client, sessions, mail_settings, active_reader):
    response = subscribe(client, "reader@example.org", frequency="immediate", areas=["drug_discovery"])
    assert response.status_code == 200 and "确认邮件" in response.get_data(as_text=True)
    with sessions() as s:
        sub = s.execute(select(Subscription)).scalar_one()
    assert (sub.frequency, sub.filters["areas"]) == ("daily", [])


def test_form_errors_store_nothing(client, sessions):
    bad = subscribe(client, "not-an-address")
    no_consent = subscribe(client, "reader@example.org", consent="")
    assert (bad.status_code, no_consent.status_code) == (400, 400)
    assert "有效的邮箱地址" in bad.get_data(as_text=True)
    with sessions() as s:
        assert s.execute(select(Subscriber)).first() is None


def test_a_subscriber_can_follow_certificates(client, sessions):
    # Full-width digits and spaces as typed from a scanned certificate; stored in the canonical form.
    response = subscribe(client, "ra@example.org", certificates="国械注准２０２１３２１９９０４ , 国械注进20233210001")
    assert response.status_code == 200, response.get_data(as_text=True)
    with sessions() as s:
        sub = s.execute(select(Subscription)).scalar_one()
    assert sub.filters["certificates"] == ["国械注准20213219904", "国械注进20233210001"]


@pytest.mark.parametrize("lang, words", [("zh", "不是有效的注册证编号"), ("en", "is not a registration certificate number")])
def test_a_malformed_certificate_is_refused_and_nothing_stored(client, sessions, lang, words):
    client.get(f"/subscribe?lang={lang}")
    bad = subscribe(client, "ra@example.org", certificates="国械注准2021321, 国械备20230001")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and words in text and "国械注准2021321" in text
    # The form is shown again with the numbers as typed, so the wrong one can be corrected in place.
    assert 'value="国械注准2021321, 国械备20230001"' in text
    with sessions() as s:
        assert s.execute(select(Subscriber)).first() is None


def test_a_hostile_certificate_text_comes_back_escaped(client, sessions):
    bad = subscribe(client, "ra@example.org", certificates='"><script>alert(1)</script>')
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


def test_the_manage_page_refuses_a_malformed_certificate_and_keeps_the_old_preferences(
        client, sessions, mail_settings, active_reader):
    body = active_reader.get_body(("plain",)).get_content()
    manage_path = path_of(re.search(rf"{re.escape(BASE_URL)}/subscribe/manage/\S+", body).group(0))
    response = client.post(manage_path, data={"csrf_token": csrf(client, manage_path), "frequency": "weekly",
                                              "include_devices": "1", "certificates": "国械注准abc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "不是有效的注册证编号" in html and 'value="国械注准abc"' in html
    with sessions() as s:
        sub = s.execute(select(Subscription)).scalar_one()
    assert (sub.frequency, sub.filters.get("certificates", [])) == ("daily", [])


def test_forged_or_foreign_tokens_are_refused(client, mail_settings, active_reader, sessions):
    with sessions() as s:
        subscriber = s.execute(select(Subscriber)).scalar_one()
    manage = make_token(mail_settings.secret_key, "manage", subscriber.id, subscriber.email)
    forged = make_token("another-secret", "unsubscribe", subscriber.id, subscriber.email)
    assert client.get(f"/unsubscribe/{manage}").status_code == 404  # a manage token is not an unsubscribe token
    assert client.get(f"/unsubscribe/{forged}").status_code == 404
    assert client.post(f"/unsubscribe/{forged}").status_code == 404
    other_address = make_token(mail_settings.secret_key, "manage", subscriber.id, "someone@example.com")
    assert client.get(f"/subscribe/manage/{other_address}").status_code == 404


def test_confirmation_links_expire_but_unsubscribe_links_do_not():
    confirm = make_token("k", "confirm", 7, "a@example.org")
    assert read_token("k", "confirm", confirm).subscriber_id == 7
    with pytest.raises(InvalidToken) as caught:
        read_token("k", "confirm", confirm, now=time.time() + 8 * 24 * 3600)
    assert caught.value.expired
    unsubscribe = make_token("k", "unsubscribe", 7, "a@example.org")
    assert read_token("k", "unsubscribe", unsubscribe, now=time.time() + 10 * 365 * 24 * 3600).email == "a@example.org"
