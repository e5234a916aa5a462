"""Team notifications: chat channels (WeCom, DingTalk, Feishu/Lark, Slack, signed JSON webhooks, Apprise URLs),
watches (what a team follows) and the chat outbox that delivers each message once, retrying with back-off."""
