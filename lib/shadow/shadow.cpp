// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Shadow session: connection life cycle, requests and their answers, desired handlers.
// The replica record and reports are in shadow_replica.cpp.
#include "tether/shadow/shadow.hpp"

#include <cstdio>
#include <cstring>

#include "shadow_internal.hpp"

namespace tether::shadow {
namespace {

// The five response topics a shadow subscribes, in bit order.
constexpr Topic kSubscribed[] = {Topic::kGetAccepted, Topic::kGetRejected, Topic::kUpdateAccepted,
                                 Topic::kUpdateRejected, Topic::kUpdateDelta};
constexpr std::uint8_t kAllSubscribed = (1u << (sizeof kSubscribed / sizeof kSubscribed[0])) - 1;

int subscription_bit(Topic topic) {
  for (std::size_t i = 0; i < sizeof kSubscribed / sizeof kSubscribed[0]; ++i) {
    if (kSubscribed[i] == topic) return static_cast<int>(i);
  }
  return -1;
}

bool retryable(std::int64_t code) { return code == 429 || code >= 500; }

std::uint32_t mix_seed(std::uint64_t seed, const port::Clock& clock) {
  Prng prng(seed ^ static_cast<std::uint64_t>(clock.wall_time_ms().value_or(0)) ^
            static_cast<std::uint64_t>(clock.now().count()) * 0x9E3779B97F4A7C15ull);
  return static_cast<std::uint32_t>(prng.next());
}

}  // namespace

const char* to_string(ShadowEventType type) {
  switch (type) {
    case ShadowEventType::kSynced: return "synced";
    case ShadowEventType::kUpdateAccepted: return "update accepted";
    case ShadowEventType::kUpdateRejected: return "update rejected";
    case ShadowEventType::kGetRejected: return "get rejected";
    case ShadowEventType::kRequestTimedOut: return "request timed out";
    case ShadowEventType::kStoreFailed: return "replica not stored";
    case ShadowEventType::kReplicaDiscarded: return "stored replica discarded";
  }
  return "?";
}

Shadow::Shadow(Agent& agent, port::KvStore* store, const ShadowSettings& settings, std::uint64_t token_seed)
    : agent_(agent),
      store_(store),
      settings_(settings),
      backoff_(settings.retry, token_seed ^ 0x5ADull),
      token_prefix_(mix_seed(token_seed, agent.clock())) {}

Shadow::~Shadow() {
  if (phase_ != Phase::kIdle) {
    agent_.detach(*this).ignore();
    for (Topic t : kSubscribed) {
      FixedString<kMaxTopic> topic;
      agent_.unsubscribe(topics_.build(t, topic)).ignore();
    }
  }
}

Status Shadow::start(ErrorText* why) {
  if (phase_ != Phase::kIdle) return Status(StatusCode::kFailedPrecondition, Origin::kShadow);
  if (settings_.max_inflight < 1 || settings_.max_inflight > 10) {
    set_error_text(why, "shadow max_inflight must be 1..10 (is %u)", static_cast<unsigned>(settings_.max_inflight));
    return Status(StatusCode::kOutOfRange, Origin::kShadow, settings_.max_inflight);
  }
  if (settings_.request_timeout.count() < 1) {
    set_error_text(why, "shadow request_timeout must be at least 1 ms");
    return Status(StatusCode::kOutOfRange, Origin::kShadow);
  }
  if (settings_.status_key.find('.') != std::string_view::npos ||
      !validate_key_path(settings_.status_key).ok()) {
    set_error_text(why, "shadow status_key \"%.*s\" must be one non-empty key without '.'",
                   static_cast<int>(settings_.status_key.size()), settings_.status_key.data());
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  Status s = topics_.init(agent_.topics(), settings_.name, why);
  if (!s.ok()) return s;
  s = derive_store_key(settings_, store_key_, why);
  if (!s.ok()) return s;
  for (const Handler& h : handlers_) {
    if (under_status_key(h.path.view())) {
      set_error_text(why, "desired handler path \"%s\" lies under the status key", h.path.c_str());
      return Status(StatusCode::kInvalidArgument, Origin::kShadow);
    }
  }
  init_record();
  load();
  for (std::size_t i = 0; i < sizeof kSubscribed / sizeof kSubscribed[0]; ++i) {
    FixedString<kMaxTopic> topic;
    s = agent_.subscribe(topics_.build(kSubscribed[i], topic), Qos::k1,
                         [this](const InboundMessage& message) { on_message(message); });
    if (!s.ok()) {
      set_error_text(why, "cannot subscribe \"%s\" (%s)", topic.c_str(), to_string(s.code()));
      for (std::size_t j = 0; j < i; ++j) agent_.unsubscribe(topics_.build(kSubscribed[j], topic)).ignore();
      return s;
    }
  }
  s = agent_.attach(*this);
  if (!s.ok()) {
    FixedString<kMaxTopic> topic;
    for (Topic t : kSubscribed) agent_.unsubscribe(topics_.build(t, topic)).ignore();
    set_error_text(why, "cannot attach the shadow to the agent (%s)", to_string(s.code()));
    return s;
  }
  phase_ = agent_.connected() ? Phase::kSubscribing : Phase::kOffline;
  TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "shadow \"%s\" started (replica version %ld, key \"%s\")",
                  topics_.prefix().data(), static_cast<long>(version_), store_key_.c_str());
  return Status();
}

Status Shadow::on_desired(std::string_view path, DesiredHandler handler, ErrorText* why) {
  Status s = validate_key_path(path, why);
  if (!s.ok()) return s;
  if (!handler) {
    set_error_text(why, "empty desired handler for \"%.*s\"", static_cast<int>(path.size()), path.data());
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  if (phase_ != Phase::kIdle && under_status_key(path)) {
    set_error_text(why, "desired handler path \"%.*s\" lies under the status key", static_cast<int>(path.size()),
                   path.data());
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  for (const Handler& h : handlers_) {
    if (h.path == path) return Status(StatusCode::kAlreadyExists, Origin::kShadow);
  }
  Handler entry;
  entry.path.assign(path).ignore();
  entry.handler = handler;
  if (!handlers_.push_back(entry)) {
    set_error_text(why, "at most %u desired handlers per shadow", static_cast<unsigned>(kMaxHandlers));
    return Status(StatusCode::kResourceExhausted, Origin::kShadow, static_cast<std::uint16_t>(kMaxHandlers));
  }
  return Status();
}

bool Shadow::under_status_key(std::string_view path) const {
  const std::string_view key = settings_.status_key;
  return path.substr(0, key.size()) == key && (path.size() == key.size() || path[key.size()] == '.');
}

void Shadow::resync() {
  if (phase_ == Phase::kIdle) return;
  get_wanted_ = true;
  if (phase_ == Phase::kSynced) phase_ = Phase::kSyncing;
  pump();
}

// ---- agent hooks ---------------------------------------------------------------------------------

void Shadow::on_agent_event(const AgentEvent& event) {
  if (phase_ == Phase::kIdle) return;
  if (event.type == AgentEventType::kConnected) {
    phase_ = Phase::kSubscribing;
    subscribed_ = 0;
  } else if (event.type == AgentEventType::kDisconnected) {
    phase_ = Phase::kOffline;
    subscribed_ = 0;
    get_.active = false;
    if (update_.active) restore_inflight();
    retry_at_ = Milliseconds(0);
  }
}

bool Shadow::on_agent_publish_complete(PacketToken token, Status result) {
  Request* request = token == 0 ? nullptr : token == get_.packet ? &get_ : token == update_.packet ? &update_ : nullptr;
  if (request == nullptr) return false;
  request->packet = 0;
  if (result.ok() || !request->active) return true;
  // The broker refused the request itself (not authorized, ...) or the connection dropped before
  // its PUBACK: no answer will come.
  const bool fatal = classify_failure(result) == FailureClass::kFatal;
  TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, result, "shadow %s (clientToken %s) not delivered; retrying",
                  request == &get_ ? "get" : "update", request->token.c_str());
  request->active = false;
  if (request == &get_) {
    get_wanted_ = true;
  } else {
    restore_inflight();
  }
  schedule_retry(fatal);
  return true;
}

void Shadow::on_agent_subscribed(std::string_view filter, Status result) {
  Topic which;
  if (phase_ == Phase::kIdle || !topics_.match(filter, which)) return;
  const int bit = subscription_bit(which);
  if (bit < 0) return;
  if (!result.ok()) {
    TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, result,
                     "shadow cannot sync: the broker refused \"%.*s\" (check the device policy / ACL)",
                     static_cast<int>(filter.size()), filter.data());
    return;
  }
  subscribed_ = static_cast<std::uint8_t>(subscribed_ | (1u << bit));
  if (subscribed_ == kAllSubscribed && phase_ == Phase::kSubscribing) {
    phase_ = Phase::kSyncing;
    get_wanted_ = true;
    pump();
  }
}

void Shadow::on_agent_tick(Milliseconds now) {
  if (phase_ == Phase::kIdle) return;
  if (get_.active && now - get_.sent >= settings_.request_timeout) fail_request(get_, "get");
  if (update_.active && now - update_.sent >= settings_.request_timeout) fail_request(update_, "update");
  pump();
  if (dirty_ && store_ != nullptr && (!persisted_once_ || now - last_persist_ >= settings_.persist_interval)) {
    flush().ignore();
  }
}

Milliseconds Shadow::next_tick_due() const {
  Milliseconds due = Milliseconds::max();
  if (phase_ == Phase::kIdle) return due;
  const auto earliest = [&due](Milliseconds t) {
    if (t < due) due = t;
  };
  if (get_.active) earliest(get_.sent + settings_.request_timeout);
  if (update_.active) earliest(update_.sent + settings_.request_timeout);
  // A retry matters only if something is waiting to be sent that the in-flight limit allows.
  const bool get_waits = get_wanted_ && !get_.active;
  const bool update_waits = phase_ == Phase::kSynced && !update_.active && !doc(kPending).empty();
  if ((get_waits || update_waits) && inflight_count() < settings_.max_inflight &&
      retry_at_ > agent_.clock().now()) {
    earliest(retry_at_);
  }
  if (dirty_ && store_ != nullptr) earliest(persisted_once_ ? last_persist_ + settings_.persist_interval : Milliseconds(0));
  return due;
}

// ---- requests ------------------------------------------------------------------------------------

bool Shadow::next_token(Request& request) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%08lx-%lu", static_cast<unsigned long>(token_prefix_),
                              static_cast<unsigned long>(++token_counter_));
  return n > 0 && request.token.assign(std::string_view(buf, static_cast<std::size_t>(n))).ok();
}

void Shadow::pump() {
  if (phase_ < Phase::kSyncing || !agent_.connected()) return;
  const Milliseconds now = agent_.clock().now();
  if (now < retry_at_) return;
  if (get_wanted_ && !get_.active && inflight_count() < settings_.max_inflight) send_get();
  if (phase_ == Phase::kSynced && !update_.active && !doc(kPending).empty() &&
      inflight_count() < settings_.max_inflight) {
    send_update();
  }
}

void Shadow::send_get() {
  if (!next_token(get_)) return;
  json::Writer writer(Span<char>(scratch_, sizeof scratch_));
  writer.begin_object().key("clientToken").string(get_.token.view()).end_object();
  Result<std::string_view> body = writer.finish();
  FixedString<kMaxTopic> topic;
  Result<PacketToken> sent = body.ok() ? agent_.publish(topics_.build(Topic::kGet, topic), as_bytes(body.value()))
                                       : Result<PacketToken>(body.status());
  if (!sent.ok()) {
    TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, sent.status(), "shadow get not sent; retrying");
    schedule_retry(false);
    return;
  }
  get_.active = true;
  get_.packet = sent.value();
  get_.sent = agent_.clock().now();
  get_wanted_ = false;
  ++stats_.gets;
  TETHER_LOG_DEBUG(agent_.logger(), Origin::kShadow, "shadow get sent (clientToken %s)", get_.token.c_str());
}

void Shadow::send_update() {
  if (!next_token(update_)) return;
  Status s = set_doc(kInflight, doc(kPending));
  if (s.ok()) s = set_doc(kPending, {});
  if (!s.ok()) return;  // cannot happen: moving a document never grows the record
  json::Writer writer(Span<char>(scratch_, sizeof scratch_));
  writer.begin_object().key("state").begin_object().key("reported").raw(doc(kInflight)).end_object();
  writer.key("clientToken").string(update_.token.view()).end_object();
  Result<std::string_view> body = writer.finish();
  FixedString<kMaxTopic> topic;
  Result<PacketToken> sent = body.ok() ? agent_.publish(topics_.build(Topic::kUpdate, topic), as_bytes(body.value()))
                                       : Result<PacketToken>(body.status());
  mark_dirty();
  if (!sent.ok()) {
    TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, sent.status(), "shadow update not sent; retrying");
    restore_inflight();
    schedule_retry(false);
    return;
  }
  update_.active = true;
  update_.packet = sent.value();
  update_.sent = agent_.clock().now();
  ++stats_.updates;
  TETHER_LOG_DEBUG(agent_.logger(), Origin::kShadow, "shadow update sent (clientToken %s, %u bytes)",
                   update_.token.c_str(), static_cast<unsigned>(body.value().size()));
}

void Shadow::schedule_retry(bool fatal) {
  // Full jitter, but never less than half the initial delay: an answer such as 429 asks for a pause.
  Milliseconds delay = backoff_.next_delay(fatal ? FailureClass::kFatal : FailureClass::kTransient);
  if (delay < settings_.retry.initial / 2) delay = settings_.retry.initial / 2;
  retry_at_ = agent_.clock().now() + delay;
  TETHER_LOG_DEBUG(agent_.logger(), Origin::kShadow, "shadow retry in %ld ms", static_cast<long>(delay.count()));
}

void Shadow::fail_request(Request& request, const char* what) {
  ++stats_.timeouts;
  request.active = false;
  if (&request == &get_) {
    get_wanted_ = true;
  } else {
    restore_inflight();
  }
  TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, Status(StatusCode::kDeadlineExceeded, Origin::kShadow),
                  "no answer to shadow %s (clientToken %s) within %ld ms; retrying", what, request.token.c_str(),
                  static_cast<long>(settings_.request_timeout.count()));
  emit(ShadowEventType::kRequestTimedOut, Status(StatusCode::kDeadlineExceeded, Origin::kShadow), what);
  schedule_retry(false);
}

// ---- answers -------------------------------------------------------------------------------------

void Shadow::on_message(const InboundMessage& message) {
  Topic which;
  if (phase_ == Phase::kIdle || !topics_.match(message.topic, which)) return;
  ErrorText why;
  const std::string_view text(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
  const Status s = json::parse(
      text, kMaxJsonInput,
      [&](const json::Value& root) -> Status {
        ResponseFields fields;
        Status read = read_response_fields(root, fields, &why);
        if (!read.ok()) return read;
        Request* request = nullptr;
        if (which == Topic::kGetAccepted || which == Topic::kGetRejected) request = &get_;
        if (which == Topic::kUpdateAccepted || which == Topic::kUpdateRejected) request = &update_;
        if (request != nullptr && (!request->active || fields.client_token != request->token.view())) {
          ++stats_.foreign_answers;
          TETHER_LOG_DEBUG(agent_.logger(), Origin::kShadow, "ignored shadow answer on %s (clientToken \"%.*s\")",
                           suffix(which), static_cast<int>(fields.client_token.size()), fields.client_token.data());
          return Status();
        }
        switch (which) {
          case Topic::kGetAccepted: return on_get_accepted(root, fields, &why);
          case Topic::kGetRejected: on_get_rejected(fields); return Status();
          case Topic::kUpdateAccepted: on_update_accepted(fields); return Status();
          case Topic::kUpdateRejected: on_update_rejected(fields); return Status();
          case Topic::kUpdateDelta: return on_delta(root, fields, &why);
          default: return Status();
        }
      },
      &why);
  if (!s.ok()) {
    ++stats_.malformed;
    TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, s, "ignored malformed shadow message on %s: %s",
                    suffix(which), why.c_str());
  }
  pump();
}

Status Shadow::on_get_accepted(const json::Value& root, const ResponseFields& fields, ErrorText* why) {
  const json::Value state = root["state"];
  if (fields.version < 0 || (state.valid() && !state.is_object())) {
    set_error_text(why, "get/accepted without a version or with a state that is not an object");
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  get_.active = false;
  backoff_.reset();
  retry_at_ = Milliseconds(0);
  reconcile(state["desired"], state["reported"], fields.version);
  return Status();
}

void Shadow::reconcile(const json::Value& desired, const json::Value& reported, std::int64_t version) {
  if (version < 0 || version >= desired_version_) {
    decide(desired, version < 0 ? desired_version_ : version, true);
    if (version >= 0) desired_version_ = version;
  } else {
    // An answer older than a delta already processed (messages reordered): its desired state is
    // stale; only its reported state is compared.
    TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "get answer version %ld older than delta %ld: desired kept",
                    static_cast<long>(version), static_cast<long>(desired_version_));
  }
  if (version > version_) version_ = version;
  send_differences(reported);
  phase_ = Phase::kSynced;
  ++stats_.syncs;
  mark_dirty();
  TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "shadow synced at version %ld (%u bytes of reports to send)",
                  static_cast<long>(version_), static_cast<unsigned>(doc(kPending).size()));
  emit(ShadowEventType::kSynced);
}

void Shadow::on_get_rejected(const ResponseFields& fields) {
  get_.active = false;
  if (fields.code == 404) {
    TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "shadow does not exist yet: creating it from the replica");
    reconcile(json::Value(), json::Value(), -1);
    return;
  }
  get_wanted_ = true;
  const Status reason(StatusCode::kUnavailable, Origin::kShadow, static_cast<std::uint16_t>(fields.code));
  if (retryable(fields.code)) {
    ++stats_.throttled;
    schedule_retry(false);
    return;
  }
  TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, reason, "shadow get refused: %ld %.*s", static_cast<long>(fields.code),
                   static_cast<int>(fields.message.size()), fields.message.data());
  emit(ShadowEventType::kGetRejected, reason, fields.message);
  schedule_retry(true);
}

void Shadow::on_update_accepted(const ResponseFields& fields) {
  update_.active = false;
  set_doc(kInflight, {}).ignore();
  if (fields.version > version_) version_ = fields.version;
  backoff_.reset();
  retry_at_ = Milliseconds(0);
  ++stats_.updates_accepted;
  mark_dirty();
  emit(ShadowEventType::kUpdateAccepted);
}

void Shadow::on_update_rejected(const ResponseFields& fields) {
  update_.active = false;
  const Status reason(fields.code == 409 ? StatusCode::kAborted : StatusCode::kFailedPrecondition, Origin::kShadow,
                      static_cast<std::uint16_t>(fields.code));
  if (fields.code == 409) {
    ++stats_.conflicts;
    restore_inflight();
    resync();
    return;
  }
  if (retryable(fields.code)) {
    ++stats_.throttled;
    restore_inflight();
    schedule_retry(false);
    return;
  }
  ++stats_.updates_rejected;
  TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, reason, "shadow update refused: %ld %.*s; dropped: %.*s",
                   static_cast<long>(fields.code), static_cast<int>(fields.message.size()), fields.message.data(),
                   static_cast<int>(doc(kInflight).size() > 120 ? 120 : doc(kInflight).size()), doc(kInflight).data());
  set_doc(kInflight, {}).ignore();
  mark_dirty();
  emit(ShadowEventType::kUpdateRejected, reason, fields.message);
}

Status Shadow::on_delta(const json::Value& root, const ResponseFields& fields, ErrorText* why) {
  const json::Value state = root["state"];
  if (fields.version < 0 || !state.is_object()) {
    set_error_text(why, "delta without a version or without a state object");
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  if (fields.version <= desired_version_) {
    ++stats_.stale_deltas;
    TETHER_LOG_DEBUG(agent_.logger(), Origin::kShadow, "ignored delta version %ld (desired processed up to %ld)",
                     static_cast<long>(fields.version), static_cast<long>(desired_version_));
    return Status();
  }
  ++stats_.deltas;
  decide(state, fields.version, false);
  desired_version_ = fields.version;
  if (fields.version > version_) version_ = fields.version;
  mark_dirty();
  return Status();
}

// ---- desired handlers ----------------------------------------------------------------------------

void Shadow::decide(const json::Value& desired, std::int64_t version, bool full) {
  for (std::size_t i = 0; i < handlers_.size(); ++i) {
    const std::string_view path = handlers_[i].path.view();
    const json::Value value = find(desired, path);
    if (!value.valid() || !needs_decision(path, value)) continue;
    remove_deferred(path);
    ++stats_.handler_calls;
    DesiredChange change;
    change.path = path;
    change.value = value;
    change.version = version;
    const DesiredResult result = handlers_[i].handler(change);
    apply_decision(path, value, result, version);
  }
  // The desired state processed becomes the replica's (a full answer replaces it, a delta merges).
  json::Writer writer(Span<char>(scratch_, sizeof scratch_));
  if (full) {
    if (desired.is_object()) {
      write_value(writer, desired);
    } else {
      writer.begin_object().end_object();
    }
  } else {
    json::parse(doc(kDesired), kMaxJsonInput, [&](const json::Value& old) -> Status {
      if (!write_merged(writer, old, desired, MergeMode::kApply)) writer.begin_object().end_object();
      return Status();
    }).ignore();
  }
  Result<std::string_view> text = writer.finish();
  const Status s = text.ok() ? set_doc(kDesired, text.value()) : text.status();
  if (!s.ok()) {
    TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, s, "desired state larger than %u bytes: replica not updated",
                     static_cast<unsigned>(kStateBytes));
  }
}

bool Shadow::needs_decision(std::string_view path, const json::Value& value) {
  bool needed = true;
  json::parse(doc(kDesired), kMaxJsonInput, [&](const json::Value& decided) -> Status {
    return json::parse(doc(kReported), kMaxJsonInput, [&](const json::Value& reported) -> Status {
      if (equal(value, find(reported, path))) {
        needed = false;  // already the device's state
      } else if (equal(value, find(decided, path)) && !is_deferred(path)) {
        needed = false;  // decided before (accepted and later changed locally, or rejected)
      }
      return Status();
    });
  }).ignore();
  return needed;
}

void Shadow::apply_decision(std::string_view path, const json::Value& value, const DesiredResult& result,
                            std::int64_t version) {
  ErrorText why;
  Status s;
  switch (result.decision) {
    case Decision::kAccept: {
      if (!value.valid()) break;  // deleted from desired meanwhile: nothing to report
      const bool had_rejection = has_rejection(path);
      json::Writer writer(Span<char>(patch_, sizeof patch_));
      write_path_patch(writer, path, [&](json::Writer& w) { write_value(w, value); });
      Result<std::string_view> patch = writer.finish();
      s = patch.ok() ? apply_report(patch.value(), &why) : patch.status();
      if (s.ok() && had_rejection) s = clear_rejection(path, &why);
      TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "desired \"%.*s\" (version %ld) accepted",
                      static_cast<int>(path.size()), path.data(), static_cast<long>(version));
      break;
    }
    case Decision::kReject: {
      ++stats_.rejected_values;
      s = record_rejection(path, result.reason, version, &why);
      TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, Status(StatusCode::kInvalidArgument, Origin::kApp),
                      "desired \"%.*s\" (version %ld) rejected: %.*s", static_cast<int>(path.size()), path.data(),
                      static_cast<long>(version), static_cast<int>(result.reason.size()), result.reason.data());
      break;
    }
    case Decision::kDefer: {
      Deferred entry;
      entry.path.assign(path).ignore();
      entry.version = version;
      if (!deferred_.push_back(entry)) {
        s = record_rejection(path, "too many deferred decisions", version, &why);
        TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, Status(StatusCode::kResourceExhausted, Origin::kShadow),
                         "desired \"%.*s\" deferred while %u decisions are pending: rejected",
                         static_cast<int>(path.size()), path.data(), static_cast<unsigned>(kMaxDeferred));
      }
      mark_dirty();
      break;
    }
  }
  if (!s.ok()) {
    TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, s, "decision on desired \"%.*s\" cannot be reported: %s",
                     static_cast<int>(path.size()), path.data(), why.c_str());
  }
}

Status Shadow::resolve(std::string_view path, DesiredResult result, ErrorText* why) {
  if (!is_deferred(path) || result.decision == Decision::kDefer) {
    set_error_text(why, "nothing deferred at \"%.*s\"", static_cast<int>(path.size()), path.data());
    return Status(StatusCode::kNotFound, Origin::kShadow);
  }
  std::int64_t version = 0;
  for (const Deferred& d : deferred_) {
    if (d.path == path) version = d.version;
  }
  remove_deferred(path);
  Status s = json::parse(doc(kDesired), kMaxJsonInput, [&](const json::Value& desired) -> Status {
    apply_decision(path, find(desired, path), result, version);
    return Status();
  });
  mark_dirty();
  pump();
  return s;
}

bool Shadow::is_deferred(std::string_view path) const {
  for (const Deferred& d : deferred_) {
    if (d.path == path) return true;
  }
  return false;
}

void Shadow::remove_deferred(std::string_view path) {
  for (std::size_t i = 0; i < deferred_.size(); ++i) {
    if (deferred_[i].path == path) {
      deferred_.erase(i);
      mark_dirty();
      return;
    }
  }
}

void Shadow::emit(ShadowEventType type, Status reason, std::string_view message) {
  if (!event_handler_) return;
  ShadowEvent event;
  event.type = type;
  event.reason = reason;
  event.version = version_;
  event.message = message;
  event_handler_(event);
}

}  // namespace tether::shadow
