"""The emulator's MQTT 5 connection to the broker (paho-mqtt 1.6)."""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, Callable, List, Optional

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger("cloudsim.mqtt")

MessageHandler = Callable[[str, bytes], None]


class MqttLink:
    """Connects with TLS client certificates, (re)subscribes on every connect, and reports
    `subscribed` once the broker has granted every filter."""

    def __init__(self, host: str, port: int, ca: str, cert: str, key: str,
                 filters: List[str], on_message: MessageHandler,
                 client_id: str = "tether-cloudsim") -> None:
        self._host = host
        self._port = port
        self._filters = filters
        self._on_message = on_message
        self.subscribed = threading.Event()
        self.failed: Optional[str] = None
        self._client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        self._client.tls_set(ca_certs=ca, certfile=cert, keyfile=key,
                             tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._client.on_connect = self._connected
        self._client.on_subscribe = self._granted
        self._client.on_message = self._message
        self._client.on_disconnect = self._disconnected
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._sub_mid: Optional[int] = None

    def start(self) -> None:
        self._client.connect(self._host, self._port, keepalive=30, clean_start=True)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, content_type: Optional[str] = None,
                expiry_s: Optional[int] = None) -> None:
        props = None
        if content_type is not None or expiry_s is not None:
            props = Properties(PacketTypes.PUBLISH)
            if content_type is not None:
                props.ContentType = content_type
            if expiry_s is not None:
                props.MessageExpiryInterval = int(expiry_s)
        info = self._client.publish(topic, payload, qos=1, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    # paho callbacks (network thread)

    def _connected(self, client: mqtt.Client, _userdata: Any, _flags: Any, rc: Any,
                   _props: Any = None) -> None:
        if rc != 0:
            log.error("connection refused: %s", rc)
            return
        log.info("connected to %s:%d; subscribing to %d filters", self._host, self._port,
                 len(self._filters))
        opts = SubscribeOptions(qos=1, noLocal=True)
        result, mid = client.subscribe([(f, opts) for f in self._filters])
        if result != mqtt.MQTT_ERR_SUCCESS:
            log.error("subscribe failed: %s", mqtt.error_string(result))
        self._sub_mid = mid

    def _granted(self, _client: mqtt.Client, _userdata: Any, mid: int, codes: Any,
                 _props: Any = None) -> None:
        if mid != self._sub_mid:
            return
        bad = [f for f, c in zip(self._filters, codes) if getattr(c, "value", c) >= 0x80]
        if bad:
            self.failed = f"broker refused subscriptions: {bad}"
            log.error(self.failed)
            return
        log.info("subscribed")
        self.subscribed.set()

    def _disconnected(self, _client: mqtt.Client, _userdata: Any, rc: Any,
                      _props: Any = None) -> None:
        log.warning("disconnected (%s); paho reconnects", rc)

    def _message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._on_message(msg.topic, bytes(msg.payload))
