# mypy: ignore-errors
# ruff: noqa
"""Seed 003's BitMEX client code (../shared/specs/seeds/event-driven-trading-system.zh.md,
"数字货币交易接口概述"), ported from Python 2 with the fewest changes that make it run. It is the
project's own seed, kept as written so the emulator is tested against it; only the URLs are
pointed elsewhere by the test (``BASE_URL`` and ``bitmexWS.ws_url``).

Fixes, each an evident slip or a Python 2 -> 3 port (nothing else changed):

1. ``from urlparse import urlparse`` -> ``from urllib.parse import urlparse`` (Python 3).
2. ``hmac.new(bytes(secret), bytes(message), ...)`` -> ``.encode("utf8")`` on both: Python 3's
   ``bytes(str)`` needs an encoding.
3. ``def __send_command(self, command, args=None)`` lacked its colon (a syntax error).
4. ``__on_close(self, ws)`` -> ``__on_close(self, ws, *args)``: websocket-client >= 1.0 passes
   the close code and reason too.
5. The order example signs ``'GET'`` with a form body; the text says an order is a POST
   (``这里下单的 verb 为 POST``), so :func:`place_order` signs ``'POST'``.
6. The article describes, without showing, the sending code (``把签名和 apiKey 加入 http 请求
   头``) and the authenticated WebSocket (``在 WebsocketAPP()中加一个 header 参数，header 的生
   成方式与之前 REST 的生成方式相同``): :func:`place_order` and ``bitmexWS.header`` are those
   two sentences in code, nothing more.
"""

# -*- coding: utf-8 -*-

import time
import hashlib
import hmac
import urllib.request
from urllib.parse import urlparse  # fix 1

import websocket
import threading
import json


BASE_URL = "https://testnet.bitmex.com/api/v1"  # the test points this at the emulator


# 签名是 HMAC_SHA256(secret, verb + path + expires + data)，十六进制编码。
# verb 必须是大写的，url 是相对的，nonce 必须是一个递增的 64 位整数
# 并且数据（如果存在的话）必须是 JSON 格式，并且键值之间没有空格。
def generate_signature(secret, verb, url, expires, data):
    """Generate a request signature compatible with BitMEX."""
    # 解析该 url 来移除基础地址而得到 path
    parsedURL = urlparse(url)
    path = parsedURL.path
    if parsedURL.query:
        path = path + "?" + parsedURL.query

    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf8")

    print("Computing HMAC: %s" % verb + path + str(expires) + data)
    message = verb + path + str(expires) + data

    signature = hmac.new(
        secret.encode("utf8"), message.encode("utf8"), digestmod=hashlib.sha256
    ).hexdigest()  # fix 2
    return signature


def place_order(apiKey, apiSecret, data):
    """Fix 5 + 6: the article's market order (POST /order, its url-encoded data signed), with
    the signature and apiKey in the request headers."""
    expires = int(round(time.time()) + 5)
    url = BASE_URL + "/order"
    signature = generate_signature(apiSecret, "POST", url, expires, data)
    req = urllib.request.Request(
        url,
        data=data.encode("utf8"),
        method="POST",
        headers={
            "api-key": apiKey,
            "api-expires": str(expires),
            "api-signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


class bitmexWS(object):
    """bitMEX WebSocket"""

    def __init__(self):
        self.ws_url = "wss://testnet.bitmex.com/realtime"
        self.ws = None  # websocket链接实例
        self.wst = None  # 运行ws.runforever()的线程
        self.header = None  # fix 6: the api-* headers for the authenticated streams

    def connect(self):
        # 构造websocket连接实例
        self.ws = websocket.WebSocketApp(
            self.ws_url,
            header=self.header,  # fix 6
            on_message=self.__on_message,
            on_close=self.__on_close,
            on_open=self.__on_open,
            on_error=self.__on_error,
        )
        # 单开一个线程运行 ws.run_forever()
        self.wst = threading.Thread(target=lambda: self.ws.run_forever())
        self.wst.start()
        print("ws thread start")

    def __on_message(self, ws, message):
        """on_message回调函数"""
        print("========================== MESSAGE ==========================")
        print(message)

    def __on_error(self, ws, error):
        print("Calling ws.__on_error()")
        print(error)

    def __on_close(self, ws, *args):  # fix 4
        print("Calling ws.__on_close()")
        del self.wst

    def __on_open(self, ws):
        print("Calling ws.__on_open()")

    def subscribe_topic(self, topic):
        """订阅主题
        格式为：{"op": "subscribe", "args": [<SubscriptionTopic>]}
        """
        self.__send_command("subscribe", [topic])

    def __send_command(self, command, args=None):  # fix 3
        """发送请求"""
        if args is None:
            args = []
        self.ws.send(json.dumps({"op": command, "args": args}))
