/* Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
 *
 * paho-telemetry: the alternative to tether-agent that bench-footprint measures next to it, the
 * smallest program a user would write with Paho MQTT C (Debian's libpaho-mqtt-dev, synchronous
 * client paho-mqtt3cs): connect over mutual TLS, then every INTERVAL_MS read the readings
 * tether-agent sends (load averages from /proc/loadavg, memory from /proc/meminfo, CPU temperature
 * from /sys/class/thermal when there is one) and publish them at QoS 1 to TOPIC. No queue, no
 * shadow, no commands, no metrics: what it leaves out is what tether-agent adds.
 *
 *   paho-telemetry URI CLIENT_ID CA CERT KEY TOPIC INTERVAL_MS
 *
 * Prints "CONNECTED", then "PUBLISHED <n>" after each acknowledged publish (stdout, line-buffered);
 * runs until SIGTERM or SIGINT. Exit codes: 0 stopped by a signal, 1 usage, 2 connect failed,
 * 3 a publish failed.
 */
#include <MQTTClient.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int signo) {
  (void)signo;
  g_stop = 1;
}

/* The value of "<key>: <n> kB" in /proc/meminfo, or -1. */
static long meminfo_kb(const char* key) {
  FILE* f = fopen("/proc/meminfo", "r");
  char line[256];
  long value = -1;
  size_t n = strlen(key);
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      value = strtol(line + n + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return value;
}

/* The telemetry record as JSON into buf. */
static int reading(char* buf, size_t size, unsigned long seq) {
  double load[3] = {0, 0, 0};
  long temp_milli = -1;
  int len;
  FILE* f = fopen("/proc/loadavg", "r");
  if (f != NULL) {
    if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = load[1] = load[2] = 0;
    fclose(f);
  }
  f = fopen("/sys/class/thermal/thermal_zone0/temp", "r");
  if (f != NULL) {
    if (fscanf(f, "%ld", &temp_milli) != 1) temp_milli = -1;
    fclose(f);
  }
  len = snprintf(buf, size, "{\"seq\":%lu,\"load_1m\":%.3f,\"load_5m\":%.3f,\"load_15m\":%.3f,"
                 "\"mem_total_kb\":%ld,\"mem_available_kb\":%ld",
                 seq, load[0], load[1], load[2], meminfo_kb("MemTotal"), meminfo_kb("MemAvailable"));
  if (temp_milli >= 0 && len > 0 && (size_t)len < size) {
    len += snprintf(buf + len, size - (size_t)len, ",\"cpu_temp_c\":%.3f", temp_milli / 1000.0);
  }
  if (len > 0 && (size_t)len < size) len += snprintf(buf + len, size - (size_t)len, "}");
  return len > 0 && (size_t)len < size ? len : -1;
}

int main(int argc, char** argv) {
  MQTTClient client;
  MQTTClient_connectOptions conn = MQTTClient_connectOptions_initializer;
  MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
  struct sigaction sa;
  unsigned long seq = 0;
  long interval_ms;
  int rc;

  if (argc != 8) {
    fprintf(stderr, "usage: %s URI CLIENT_ID CA CERT KEY TOPIC INTERVAL_MS\n", argv[0]);
    return 1;
  }
  interval_ms = strtol(argv[7], NULL, 10);
  if (interval_ms <= 0) {
    fprintf(stderr, "paho-telemetry: INTERVAL_MS must be positive\n");
    return 1;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (MQTTClient_create(&client, argv[1], argv[2], MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTCLIENT_SUCCESS) {
    fprintf(stderr, "paho-telemetry: cannot create the client for %s\n", argv[1]);
    return 2;
  }
  ssl.trustStore = argv[3];
  ssl.keyStore = argv[4];
  ssl.privateKey = argv[5];
  ssl.enableServerCertAuth = 1;
  ssl.verify = 1;
  ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
  conn.ssl = &ssl;
  conn.keepAliveInterval = 60;
  conn.cleansession = 1;
  rc = MQTTClient_connect(client, &conn);
  if (rc != MQTTCLIENT_SUCCESS) {
    fprintf(stderr, "paho-telemetry: connect to %s failed: %d\n", argv[1], rc);
    MQTTClient_destroy(&client);
    return 2;
  }
  printf("CONNECTED\n");

  rc = 0;
  while (!g_stop) {
    char payload[512];
    MQTTClient_deliveryToken token;
    struct timespec pause;
    const int len = reading(payload, sizeof payload, ++seq);
    if (len < 0 || MQTTClient_publish(client, argv[6], len, payload, 1, 0, &token) != MQTTCLIENT_SUCCESS ||
        MQTTClient_waitForCompletion(client, token, 10000) != MQTTCLIENT_SUCCESS) {
      fprintf(stderr, "paho-telemetry: publish %lu failed\n", seq);
      rc = 3;
      break;
    }
    printf("PUBLISHED %lu\n", seq);
    pause.tv_sec = interval_ms / 1000;
    pause.tv_nsec = (interval_ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);  /* a signal ends the pause early */
  }
  MQTTClient_disconnect(client, 1000);
  MQTTClient_destroy(&client);
  return rc;
}
