// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Compile-time capacities. Every fixed buffer in the core is sized here; override any of them with
/// a `-D` definition when building Tether (docs/configuration.md lists them with their RAM cost).

#ifndef TETHER_MAX_THING_NAME
#define TETHER_MAX_THING_NAME 128  ///< AWS limit for thing names
#endif
#ifndef TETHER_MAX_CLIENT_ID
#define TETHER_MAX_CLIENT_ID 128   ///< AWS IoT limit for MQTT client ids
#endif
#ifndef TETHER_MAX_TOPIC
#define TETHER_MAX_TOPIC 256       ///< AWS IoT topic limit (bytes)
#endif
#ifndef TETHER_MAX_SUBSCRIPTIONS
#define TETHER_MAX_SUBSCRIPTIONS 32
#endif
#ifndef TETHER_SUBSCRIPTION_FILTER_BYTES
#define TETHER_SUBSCRIPTION_FILTER_BYTES 4096  ///< all subscription filters of an Agent, a NUL after each
#endif
#ifndef TETHER_MAX_TIMERS
#define TETHER_MAX_TIMERS 8
#endif
#ifndef TETHER_MAX_PATH
#define TETHER_MAX_PATH 256        ///< file paths and key URIs in the configuration
#endif
#ifndef TETHER_MAX_HOST
#define TETHER_MAX_HOST 253        ///< DNS name limit
#endif
#ifndef TETHER_MAX_JSON_INPUT
#define TETHER_MAX_JSON_INPUT 65536  ///< largest JSON document the core parses (config, documents)
#endif
#ifndef TETHER_MAX_USER_PROPERTIES
#define TETHER_MAX_USER_PROPERTIES 16  ///< MQTT 5 user properties delivered per inbound message
#endif
#ifndef TETHER_LOG_LINE
#define TETHER_LOG_LINE 256        ///< bytes of one formatted log message
#endif
#ifndef TETHER_METRICS_MAX_RULE_ITEMS
#define TETHER_METRICS_MAX_RULE_ITEMS 16  ///< entries per allow-list of the on-device metrics rules
#endif

#include <cstddef>

namespace tether {
inline constexpr std::size_t kMaxThingName = TETHER_MAX_THING_NAME;
inline constexpr std::size_t kMaxClientId = TETHER_MAX_CLIENT_ID;
inline constexpr std::size_t kMaxTopic = TETHER_MAX_TOPIC;
inline constexpr std::size_t kMaxSubscriptions = TETHER_MAX_SUBSCRIPTIONS;
inline constexpr std::size_t kSubscriptionFilterBytes = TETHER_SUBSCRIPTION_FILTER_BYTES;
static_assert(kSubscriptionFilterBytes <= 65535, "TETHER_SUBSCRIPTION_FILTER_BYTES: offsets are 16-bit");
inline constexpr std::size_t kMaxTimers = TETHER_MAX_TIMERS;
inline constexpr std::size_t kMaxPath = TETHER_MAX_PATH;
inline constexpr std::size_t kMaxHost = TETHER_MAX_HOST;
inline constexpr std::size_t kMaxJsonInput = TETHER_MAX_JSON_INPUT;
inline constexpr std::size_t kLogLine = TETHER_LOG_LINE;
inline constexpr std::size_t kMaxUserProperties = TETHER_MAX_USER_PROPERTIES;
inline constexpr std::size_t kMaxMetricsRuleItems = TETHER_METRICS_MAX_RULE_ITEMS;
}  // namespace tether
