// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The AWS IoT Jobs adapter of the command inbox: subscriptions, start-next / $next/get requests
// and their answers, deliveries, status updates and their answers. The wire format is the pure
// codec's (jobs_codec.cpp); the journal, deadlines and retries of statuses are the inbox's.
#include "tether/commands/jobs_adapter.hpp"

#include <cstdio>

#include "tether/log.hpp"
#include "tether/utf8.hpp"

namespace tether::commands {
namespace {

using jobs::ErrorCode;
using jobs::JobStatus;
using jobs::Topic;

// The answer topics, in subscription-bit order, with the job ID level of those that have one.
struct Subscription {
  Topic topic;
  std::string_view job_id;
};
constexpr Subscription kSubscriptions[] = {
    {Topic::kNotifyNext, {}},           {Topic::kStartNextAccepted, {}},  {Topic::kStartNextRejected, {}},
    {Topic::kUpdateAccepted, "+"},      {Topic::kUpdateRejected, "+"},    {Topic::kDescribeAccepted, jobs::kNextJobId},
    {Topic::kDescribeRejected, jobs::kNextJobId},
};
constexpr std::size_t kSubscriptionCount = sizeof kSubscriptions / sizeof kSubscriptions[0];
constexpr std::uint8_t kAllSubscribed = (1u << kSubscriptionCount) - 1;

// statusDetails members at most: reasonCode, reason and the members of a kMaxDetails object.
constexpr std::size_t kMaxDetailMembers = 32;

Status commands_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kCommands, detail); }

Span<const std::uint8_t> bytes_of(std::string_view text) {
  return Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

std::uint32_t mix_seed(std::uint64_t seed, const port::Clock& clock) {
  Prng prng(seed ^ static_cast<std::uint64_t>(clock.wall_time_ms().value_or(0)) ^
            static_cast<std::uint64_t>(clock.now().count()) * 0xD1B54A32D192ED03ull);
  return static_cast<std::uint32_t>(prng.next());
}

// Compact JSON of a parsed value (numbers that are integers as integers).
void write_json(json::Writer& writer, const json::Value& value) {
  switch (value.type()) {
    case json::Type::kInvalid:
    case json::Type::kNull: writer.null(); return;
    case json::Type::kBool: writer.boolean(value.as_bool().value_or(false)); return;
    case json::Type::kString: writer.string(value.as_string().value_or({})); return;
    case json::Type::kNumber: {
      const Result<std::int64_t> i = value.as_int();
      if (i.ok()) {
        writer.number(*i);
      } else {
        writer.number(value.as_double().value_or(0.0));
      }
      return;
    }
    case json::Type::kArray:
    case json::Type::kObject: {
      const bool object = value.is_object();
      if (object) {
        writer.begin_object();
      } else {
        writer.begin_array();
      }
      for (json::Value m = value.first_child(); m.valid(); m = m.next()) {
        if (object) writer.key(m.key());
        write_json(writer, m);
      }
      if (object) {
        writer.end_object();
      } else {
        writer.end_array();
      }
      return;
    }
  }
}

// The answer the inbox gets for a refused update.
StatusAnswer answer_for(ErrorCode code) {
  return code == ErrorCode::kRequestThrottled || code == ErrorCode::kInternalError ? StatusAnswer::kRetry
                                                                                     : StatusAnswer::kFinal;
}

// statusDetails being built for one update: members checked one by one against the service's
// rules, so one bad member is left out rather than the whole status.
class DetailList {
 public:
  // `scratch` holds values made here: non-string members as JSON text, values with characters
  // replaced.
  DetailList(Logger& log, std::string_view job_id, std::uint32_t& dropped, Span<char> scratch)
      : log_(log), job_id_(job_id), dropped_(dropped), scratch_(scratch) {}

  // Room for a value made by the caller; commit() keeps what was written.
  Span<char> scratch() { return Span<char>(scratch_.data() + used_, scratch_.size() - used_); }
  void commit(std::size_t bytes) { used_ += bytes; }

  void add(std::string_view key, std::string_view value) {
    value = utf8::prefix_chars(value, jobs::kMaxStatusDetailValue);
    const char* problem = nullptr;
    ErrorText why;
    std::size_t replaced = 0;
    const Result<std::string_view> clean = jobs::sanitize_status_detail_value(value, scratch(), &replaced);
    if (clean.ok() && replaced > 0) {
      // The service refuses control characters (a program's newlines, say): keep the text.
      TETHER_LOG_DEBUG(log_, Origin::kCommands, "jobs status of \"%.*s\": %lu character(s) of \"%.*s\" replaced",
                       static_cast<int>(job_id_.size()), job_id_.data(), static_cast<unsigned long>(replaced),
                       static_cast<int>(utf8::prefix_chars(key, 40).size()), key.data());
      value = clean.value();
      commit(value.size());
    }
    if (count_ == kMaxDetailMembers) {
      problem = "too many members";
    } else {
      for (std::size_t i = 0; i < count_ && problem == nullptr; ++i) {
        if (items_[i].key == key) problem = "the key is used already";
      }
    }
    if (problem == nullptr) {
      const jobs::StatusDetail one{key, value};
      if (!jobs::validate_status_details(Span<const jobs::StatusDetail>(&one, 1), &why).ok()) problem = why.c_str();
    }
    if (problem != nullptr) {
      ++dropped_;
      TETHER_LOG_WARN(log_, Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                      "jobs status of \"%.*s\": statusDetails member \"%.*s\" left out: %s",
                      static_cast<int>(job_id_.size()), job_id_.data(), static_cast<int>(utf8::prefix_chars(key, 40).size()),
                      key.data(), problem);
      return;
    }
    items_[count_++] = jobs::StatusDetail{key, value};
  }

  Span<const jobs::StatusDetail> span() const { return Span<const jobs::StatusDetail>(items_, count_); }

 private:
  Logger& log_;
  std::string_view job_id_;
  std::uint32_t& dropped_;
  jobs::StatusDetail items_[kMaxDetailMembers];
  std::size_t count_ = 0;
  Span<char> scratch_;
  std::size_t used_ = 0;
};

}  // namespace

JobsAdapter::JobsAdapter(const JobsAdapterSettings& settings, std::uint64_t token_seed)
    : settings_(settings),
      backoff_(settings.retry, token_seed ^ 0x70B5ull),
      token_prefix_(static_cast<std::uint32_t>(Prng(token_seed ^ 0x4A0B5ull).next())) {}

JobsAdapter::~JobsAdapter() {
  if (phase_ != Phase::kIdle) unsubscribe_all(kSubscriptionCount);
}

void JobsAdapter::unsubscribe_all(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    FixedString<kMaxTopic> filter;
    const Result<std::string_view> built = topics_.build(kSubscriptions[i].topic, filter, kSubscriptions[i].job_id);
    if (built.ok()) agent_->unsubscribe(built.value()).ignore();
  }
}

Status JobsAdapter::start(Inbox& inbox, ErrorText* why) {
  if (phase_ != Phase::kIdle) return commands_error(StatusCode::kFailedPrecondition);
  if (settings_.operation_key.empty() || settings_.operation_key.size() > kMaxOperationName) {
    set_error_text(why, "jobs operation_key must be 1..%u bytes (is %u)", static_cast<unsigned>(kMaxOperationName),
                   static_cast<unsigned>(settings_.operation_key.size()));
    return commands_error(StatusCode::kInvalidArgument);
  }
  if (settings_.step_timeout_minutes > jobs::kMaxStepTimeoutMinutes) {
    set_error_text(why, "jobs step_timeout_minutes must be 0..%u (is %lu)",
                   static_cast<unsigned>(jobs::kMaxStepTimeoutMinutes),
                   static_cast<unsigned long>(settings_.step_timeout_minutes));
    return commands_error(StatusCode::kOutOfRange);
  }
  if (settings_.request_timeout.count() < 1 || settings_.deadline.count() < 0) {
    set_error_text(why, "jobs request_timeout must be at least 1 ms and deadline not negative");
    return commands_error(StatusCode::kOutOfRange);
  }
  // Cloud minutes become the local deadline when no other is given.
  if (settings_.deadline.count() == 0 && settings_.step_timeout_minutes > 0) {
    settings_.deadline = Milliseconds(static_cast<std::int64_t>(settings_.step_timeout_minutes) * 60000);
  }
  agent_ = &inbox.agent();
  inbox_ = &inbox;
  Status s = topics_.init(agent_->topics(), why);
  if (!s.ok()) return s;
  token_prefix_ ^= mix_seed(token_prefix_, agent_->clock());
  for (std::size_t i = 0; i < kSubscriptionCount; ++i) {
    FixedString<kMaxTopic> filter;
    const Result<std::string_view> built = topics_.build(kSubscriptions[i].topic, filter, kSubscriptions[i].job_id, why);
    s = built.ok() ? agent_->subscribe(built.value(), Qos::k1, [this](const InboundMessage& m) { on_message(m); })
                   : built.status();
    if (!s.ok()) {
      set_error_text(why, "cannot subscribe \"%s\" (%s)", filter.c_str(), to_string(s.code()));
      unsubscribe_all(i);
      return s;
    }
  }
  phase_ = agent_->connected() ? Phase::kSubscribing : Phase::kOffline;
  TETHER_LOG_INFO(agent_->logger(), Origin::kCommands, "jobs adapter started on \"%.*s\" (operation key \"%.*s\")",
                  static_cast<int>(topics_.root().size()), topics_.root().data(),
                  static_cast<int>(settings_.operation_key.size()), settings_.operation_key.data());
  return Status();
}

// ---- agent events --------------------------------------------------------------------------------

void JobsAdapter::on_agent_event(const AgentEvent& event) {
  if (phase_ == Phase::kIdle) return;
  if (event.type != AgentEventType::kConnected && event.type != AgentEventType::kDisconnected) return;
  // Answers of the old connection will not come; the inbox forgets what it awaited too.
  phase_ = event.type == AgentEventType::kConnected ? Phase::kSubscribing : Phase::kOffline;
  subscribed_ = 0;
  request_ = RequestKind::kNone;
  updates_.clear();
  retry_at_ = Milliseconds(0);
}

void JobsAdapter::on_agent_subscribed(std::string_view filter, Status result) {
  if (phase_ == Phase::kIdle) return;
  for (std::size_t i = 0; i < kSubscriptionCount; ++i) {
    FixedString<kMaxTopic> ours;
    const Result<std::string_view> built = topics_.build(kSubscriptions[i].topic, ours, kSubscriptions[i].job_id);
    if (!built.ok() || built.value() != filter) continue;
    if (!result.ok()) {
      TETHER_LOG_ERROR(agent_->logger(), Origin::kCommands, result,
                       "jobs cannot start: the broker refused \"%.*s\" (check the device policy / ACL)",
                       static_cast<int>(filter.size()), filter.data());
      return;
    }
    subscribed_ = static_cast<std::uint8_t>(subscribed_ | (1u << i));
    if (subscribed_ == kAllSubscribed && phase_ == Phase::kSubscribing) {
      phase_ = Phase::kReady;
      want_next_ = true;
      want_describe_ = true;
      backoff_.reset();
      TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "jobs topics subscribed: asking for work");
      pump();
    }
    return;
  }
}

void JobsAdapter::on_slot_free() { want_next_ = true; }

void JobsAdapter::on_tick(Milliseconds now) {
  if (phase_ == Phase::kIdle) return;
  if (request_ != RequestKind::kNone && now - request_sent_ >= settings_.request_timeout) {
    ++stats_.request_timeouts;
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                    "no answer to jobs %s (clientToken %s) within %ld ms; retrying",
                    request_ == RequestKind::kStartNext ? "start-next" : "$next/get", request_token_.c_str(),
                    static_cast<long>(settings_.request_timeout.count()));
    if (request_ == RequestKind::kStartNext) want_next_ = true;
    if (request_ == RequestKind::kDescribe) want_describe_ = true;
    request_ = RequestKind::kNone;
    schedule_retry(false);
  }
  for (std::size_t i = updates_.size(); i > 0; --i) {
    if (now - updates_[i - 1].sent < settings_.request_timeout) continue;
    const PendingUpdate lost = updates_[i - 1];
    updates_.erase(i - 1);
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                    "no answer to the jobs status of \"%s\" (clientToken %s); the inbox sends it again",
                    lost.job_id.c_str(), lost.token.c_str());
    answered(lost, StatusAnswer::kRetry);
  }
  pump();
}

Milliseconds JobsAdapter::next_tick_due() const {
  Milliseconds due = Milliseconds::max();
  if (phase_ == Phase::kIdle) return due;
  const auto earliest = [&due](Milliseconds t) {
    if (t < due) due = t;
  };
  if (request_ != RequestKind::kNone) earliest(request_sent_ + settings_.request_timeout);
  for (const PendingUpdate& u : updates_) earliest(u.sent + settings_.request_timeout);
  // A request held back by the backoff (pump() runs on every tick and after every answer).
  if (phase_ == Phase::kReady && request_ == RequestKind::kNone && running_.empty() && !terminal_awaited() &&
      retry_at_ > agent_->clock().now()) {
    const bool slot = inbox_->free_slots() > 0;
    if ((slot && want_next_) || (!slot && want_describe_)) earliest(retry_at_);
  }
  return due;
}

// ---- requests ------------------------------------------------------------------------------------

bool JobsAdapter::terminal_awaited() const {
  for (const PendingUpdate& u : updates_) {
    if (u.terminal) return true;
  }
  return false;
}

void JobsAdapter::pump() {
  if (phase_ != Phase::kReady || !agent_->connected() || request_ != RequestKind::kNone) return;
  // Jobs hands out one execution at a time; the next is asked for once the service has taken the
  // end of the last one (it would hand out the same execution again before that).
  if (!running_.empty() || terminal_awaited() || agent_->clock().now() < retry_at_) return;
  if (inbox_->free_slots() > 0) {
    if (want_next_) send_request(RequestKind::kStartNext);
  } else if (want_describe_) {
    send_request(RequestKind::kDescribe);
  }
}

bool JobsAdapter::next_token(FixedString<24>& token) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%08lx-%lu", static_cast<unsigned long>(token_prefix_),
                              static_cast<unsigned long>(++token_counter_));
  return n > 0 && token.assign(std::string_view(buf, static_cast<std::size_t>(n))).ok();
}

void JobsAdapter::send_request(RequestKind kind) {
  if (!next_token(request_token_)) return;
  ErrorText why;
  Result<std::string_view> body = commands_error(StatusCode::kInternal);
  FixedString<kMaxTopic> topic;
  Result<std::string_view> built = commands_error(StatusCode::kInternal);
  if (kind == RequestKind::kStartNext) {
    jobs::StartNextRequest request;
    if (settings_.step_timeout_minutes > 0) request.step_timeout_minutes = settings_.step_timeout_minutes;
    request.client_token = request_token_.view();
    body = jobs::encode_start_next(request, Span<char>(request_buffer_, sizeof request_buffer_), &why);
    built = topics_.build(Topic::kStartNext, topic);
  } else {
    jobs::DescribeRequest request;
    request.client_token = request_token_.view();
    body = jobs::encode_describe(request, Span<char>(request_buffer_, sizeof request_buffer_), &why);
    built = topics_.build(Topic::kDescribe, topic, jobs::kNextJobId);
  }
  const char* what = kind == RequestKind::kStartNext ? "start-next" : "$next/get";
  Result<PacketToken> sent = !body.ok()    ? Result<PacketToken>(body.status())
                             : !built.ok() ? Result<PacketToken>(built.status())
                                           : agent_->publish(built.value(), bytes_of(body.value()));
  if (!sent.ok()) {
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, sent.status(), "jobs %s not sent%s%s; retrying", what,
                    why.empty() ? "" : ": ", why.c_str());
    schedule_retry(false);
    return;
  }
  request_ = kind;
  request_sent_ = agent_->clock().now();
  if (kind == RequestKind::kStartNext) {
    ++stats_.start_next_sent;
    want_next_ = false;
    want_describe_ = false;  // start-next hands out an execution in progress first, too
    notified_ = false;
  } else {
    ++stats_.describe_sent;
    want_describe_ = false;
  }
  TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "jobs %s sent (clientToken %s)", what, request_token_.c_str());
}

void JobsAdapter::schedule_retry(bool fatal) {
  Milliseconds delay = backoff_.next_delay(fatal ? FailureClass::kFatal : FailureClass::kTransient);
  if (delay < settings_.retry.initial / 2) delay = settings_.retry.initial / 2;
  retry_at_ = agent_->clock().now() + delay;
  TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "jobs request retry in %ld ms", static_cast<long>(delay.count()));
}

// ---- answers -------------------------------------------------------------------------------------

void JobsAdapter::on_message(const InboundMessage& message) {
  if (phase_ == Phase::kIdle) return;
  ErrorText why;
  const Result<jobs::TopicMatch> match = topics_.classify(message.topic, &why);
  const std::string_view text(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
  Status s = match.status();
  if (match.ok()) {
    switch (match->topic) {
      case Topic::kNotifyNext: s = on_notify_next(text, &why); break;
      case Topic::kStartNextAccepted:
      case Topic::kDescribeAccepted: s = on_execution_answer(match->topic, text, &why); break;
      case Topic::kStartNextRejected:
      case Topic::kDescribeRejected:
        s = on_request_rejected(text, &why);
        break;
      case Topic::kUpdateAccepted:
      case Topic::kUpdateRejected: s = on_update_answer(match->topic, match->job_id, text, &why); break;
      default: s = Status(); break;
    }
  }
  if (!s.ok()) {
    ++stats_.malformed;
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, s, "ignored malformed jobs message on \"%.*s\": %s",
                    static_cast<int>(message.topic.size()), message.topic.data(), why.c_str());
  }
  pump();
}

Status JobsAdapter::on_notify_next(std::string_view payload, ErrorText* why) {
  return jobs::decode_notify_next(
      payload,
      [this](const jobs::ExecutionResponse& r) {
        ++stats_.notifications;
        const std::string_view next = r.execution ? r.execution->job_id : std::string_view();
        if (!running_.empty() && next != running_.view()) {
          // The execution in progress comes first in the queue: it is not next any more, so the
          // service ended it (timed out, canceled). The inbox learns it from its next status.
          TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kAborted),
                          "jobs: the service no longer lists \"%s\", which runs here, as next (timed out or canceled?)",
                          running_.c_str());
        }
        if (r.execution && next != running_.view()) {
          want_next_ = true;
          if (request_ != RequestKind::kNone) notified_ = true;
        }
        return Status();
      },
      why);
}

Status JobsAdapter::on_execution_answer(Topic topic, std::string_view payload, ErrorText* why) {
  const RequestKind kind = topic == Topic::kStartNextAccepted ? RequestKind::kStartNext : RequestKind::kDescribe;
  const auto visit = [this, kind](const jobs::ExecutionResponse& r) {
    if (request_ != kind || r.client_token != request_token_.view()) {
      ++stats_.foreign_answers;
      TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "ignored jobs answer (clientToken \"%.*s\" not awaited)",
                       static_cast<int>(utf8::prefix_chars(r.client_token, 64).size()), r.client_token.data());
      return Status();
    }
    request_ = RequestKind::kNone;
    retry_at_ = Milliseconds(0);
    if (!r.execution) {
      backoff_.reset();
      if (kind == RequestKind::kStartNext) {
        ++stats_.nothing_pending;
        want_next_ = notified_;  // else idle until notify-next announces one
        TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "jobs: no job pending");
      }
      return Status();
    }
    const jobs::JobExecution& e = *r.execution;
    deliver(e.job_id, e.thing_name, e.job_document, kind == RequestKind::kDescribe);
    return Status();
  };
  ErrorText text;
  const Status s = kind == RequestKind::kStartNext ? jobs::decode_start_next_accepted(payload, visit, &text)
                                                   : jobs::decode_describe_accepted(payload, visit, &text);
  if (!s.ok() && s.origin() == Origin::kCommands && s.detail() == static_cast<std::uint16_t>(jobs::Field::kJobDocument)) {
    // The execution is readable but its document is not one the device can run: refused.
    return deliver_unreadable(payload, text.view());
  }
  if (why != nullptr) why->assign(text.view()).ignore();
  return s;
}

Status JobsAdapter::deliver_unreadable(std::string_view payload, std::string_view why_text) {
  return json::parse(payload, kMaxJsonInput, [&](const json::Value& root) -> Status {
    const std::string_view token = root["clientToken"].as_string().value_or({});
    const json::Value execution = root["execution"];
    const std::string_view job_id = execution["jobId"].as_string().value_or({});
    const RequestKind kind = request_;
    if (kind == RequestKind::kNone || token != request_token_.view() || !jobs::validate_job_id(job_id).ok()) {
      ++stats_.foreign_answers;
      return Status();
    }
    request_ = RequestKind::kNone;
    retry_at_ = Milliseconds(0);
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                    "jobs: the document of job \"%.*s\" cannot be used (%.*s): refused", static_cast<int>(job_id.size()),
                    job_id.data(), static_cast<int>(why_text.size()), why_text.data());
    deliver(job_id, execution["thingName"].as_string().value_or({}), json::Value(), kind == RequestKind::kDescribe);
    return Status();
  });
}

void JobsAdapter::deliver(std::string_view job_id, std::string_view thing, const json::Value& document,
                          bool known_only) {
  Logger& log = agent_->logger();
  if (!thing.empty() && thing != agent_->topics().thing_name()) {
    ++stats_.malformed;
    TETHER_LOG_WARN(log, Origin::kCommands, commands_error(StatusCode::kPermissionDenied),
                    "jobs: execution of \"%.*s\" names another thing (\"%.*s\"): dropped", static_cast<int>(job_id.size()),
                    job_id.data(), static_cast<int>(utf8::prefix_chars(thing, 64).size()), thing.data());
    want_next_ = true;
    schedule_retry(true);
    return;
  }
  const bool known = inbox_->status_of(Source::kJobs, job_id).ok();
  if (known_only && !known) return;  // `$next/get`: a new job waits for a free slot and start-next
  if (!known && inbox_->free_slots() == 0) {
    // Taken by a command of another protocol meanwhile: start-next hands it out again later.
    ++stats_.deferred;
    want_next_ = true;
    TETHER_LOG_INFO(log, Origin::kCommands, "jobs: job \"%.*s\" waits for a free slot", static_cast<int>(job_id.size()),
                    job_id.data());
    return;
  }
  Incoming in;
  in.id = job_id;
  in.document = document;
  in.content_type = "application/json";
  if (document.is_object()) in.operation = document[settings_.operation_key].as_string().value_or({});
  if (in.operation.empty()) {
    ++stats_.invalid_documents;
    TETHER_LOG_WARN(log, Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                    "jobs: job \"%.*s\" has no string \"%.*s\" in its document: delivered without an operation",
                    static_cast<int>(job_id.size()), job_id.data(), static_cast<int>(settings_.operation_key.size()),
                    settings_.operation_key.data());
  }
  if (settings_.deadline.count() > 0) in.deadline = agent_->clock().now() + settings_.deadline;
  ++stats_.executions;
  const Delivery delivery = inbox_->deliver(*this, in);
  // Running (started, resumed, or already running here): no other job until it ends. The handler
  // may also have finished it during the call.
  const Result<ExecStatus> now = inbox_->status_of(Source::kJobs, job_id);
  if (now.ok() && now.value() == ExecStatus::kInProgress) {
    running_.assign(job_id).ignore();
  } else if (running_ == job_id) {
    running_.clear();
  }
  if (delivery == Delivery::kNotStored) {
    want_next_ = true;
    schedule_retry(false);
  } else if (delivery == Delivery::kDuplicate && now.ok() && is_terminal(now.value())) {
    // Handed out again after its end: the status the inbox sends again should settle it. Should the
    // service keep handing it out, the requests slow down (the backoff grows until a new job).
    schedule_retry(false);
  } else {
    backoff_.reset();
  }
  TETHER_LOG_DEBUG(log, Origin::kCommands, "jobs: job \"%.*s\" delivered: %s", static_cast<int>(job_id.size()),
                   job_id.data(), to_string(delivery));
}

Status JobsAdapter::on_request_rejected(std::string_view payload, ErrorText* why) {
  return jobs::decode_error_response(
      payload,
      [this](const jobs::ErrorResponse& r) {
        if (request_ == RequestKind::kNone || r.client_token != request_token_.view()) {
          ++stats_.foreign_answers;
          return Status();
        }
        const RequestKind kind = request_;
        request_ = RequestKind::kNone;
        ++stats_.request_rejections;
        if (kind == RequestKind::kStartNext) want_next_ = true;
        if (kind == RequestKind::kDescribe) want_describe_ = true;
        const bool transient = answer_for(r.code) == StatusAnswer::kRetry;
        TETHER_LOG_WARN(agent_->logger(), Origin::kCommands,
                        commands_error(transient ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition),
                        "jobs %s rejected: %.*s %.*s; retrying", kind == RequestKind::kStartNext ? "start-next" : "$next/get",
                        static_cast<int>(utf8::prefix_chars(r.code_text, 40).size()), r.code_text.data(),
                        static_cast<int>(utf8::prefix_chars(r.message, 120).size()), r.message.data());
        schedule_retry(!transient);
        return Status();
      },
      why);
}

Status JobsAdapter::on_update_answer(Topic topic, std::string_view job_id, std::string_view payload, ErrorText* why) {
  // The update this answers: same clientToken and job.
  const auto take = [this, job_id](std::string_view token, PendingUpdate& out) {
    for (std::size_t i = 0; i < updates_.size(); ++i) {
      if (updates_[i].token != token || updates_[i].job_id != job_id) continue;
      out = updates_[i];
      updates_.erase(i);
      return true;
    }
    ++stats_.foreign_answers;
    TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "ignored jobs update answer for \"%.*s\" (clientToken \"%.*s\")",
                     static_cast<int>(job_id.size()), job_id.data(), static_cast<int>(utf8::prefix_chars(token, 64).size()),
                     token.data());
    return false;
  };
  if (topic == Topic::kUpdateAccepted) {
    return jobs::decode_update_accepted(
        payload,
        [&](const jobs::UpdateAccepted& r) {
          PendingUpdate update;
          if (take(r.client_token, update)) answered(update, StatusAnswer::kAccepted);
          return Status();
        },
        why);
  }
  return jobs::decode_error_response(
      payload,
      [&](const jobs::ErrorResponse& r) {
        PendingUpdate update;
        if (!take(r.client_token, update)) return Status();
        const StatusAnswer answer = answer_for(r.code);
        const char* state = r.execution_state ? jobs::to_string(r.execution_state->status) : "unknown";
        TETHER_LOG_WARN(agent_->logger(), Origin::kCommands,
                        commands_error(answer == StatusAnswer::kRetry ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition),
                        "jobs status of \"%s\" rejected: %.*s %.*s (execution %s)%s", update.job_id.c_str(),
                        static_cast<int>(utf8::prefix_chars(r.code_text, 40).size()), r.code_text.data(),
                        static_cast<int>(utf8::prefix_chars(r.message, 120).size()), r.message.data(), state,
                        answer == StatusAnswer::kRetry ? "; sent again later" : "");
        answered(update, answer);
        return Status();
      },
      why);
}

void JobsAdapter::answered(const PendingUpdate& update, StatusAnswer answer) {
  switch (answer) {
    case StatusAnswer::kAccepted: ++stats_.updates_accepted; break;
    case StatusAnswer::kRetry: ++stats_.updates_retry; break;
    case StatusAnswer::kFinal: ++stats_.updates_final; break;
  }
  inbox_->status_answered(*this, update.job_id.view(), answer);
  if (!update.terminal) return;
  if (answer == StatusAnswer::kRetry) {
    schedule_retry(false);  // the status is sent again later; the next job after it
  } else {
    want_next_ = true;  // the service is done with it: the next one
  }
}

// ---- statuses ------------------------------------------------------------------------------------

Status JobsAdapter::send_status(std::string_view id, const StatusReport& report) {
  if (phase_ == Phase::kIdle) return commands_error(StatusCode::kFailedPrecondition);
  Logger& log = agent_->logger();
  JobStatus status = JobStatus::kInProgress;
  std::string_view reason_code = report.reason_code;
  switch (report.status) {
    case ExecStatus::kQueued:
      TETHER_LOG_ERROR(log, Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                       "jobs status QUEUED of \"%.*s\" not sent: a device never sets it",
                       static_cast<int>(utf8::prefix_chars(id, 64).size()), id.data());
      return commands_error(StatusCode::kInvalidArgument);
    case ExecStatus::kInProgress: status = JobStatus::kInProgress; break;
    case ExecStatus::kSucceeded: status = JobStatus::kSucceeded; break;
    case ExecStatus::kFailed: status = JobStatus::kFailed; break;
    case ExecStatus::kRejected: status = JobStatus::kRejected; break;
    case ExecStatus::kTimedOut:
      // Only the service sets TIMED_OUT (its step timer); a device reports its own deadline as FAILED.
      status = JobStatus::kFailed;
      if (reason_code.empty()) reason_code = "TIMEOUT";
      break;
  }
  ErrorText why;
  Status s = jobs::validate_job_id(id, &why);
  if (!s.ok()) {
    TETHER_LOG_ERROR(log, Origin::kCommands, s, "jobs status not sent: %s", why.c_str());
    return s;
  }
  const bool terminal = is_terminal(report.status);
  if (terminal && running_ == id) running_.clear();
  DetailList details(log, id, stats_.details_dropped, Span<char>(value_buffer_, sizeof value_buffer_));
  if (!reason_code.empty()) details.add("reasonCode", reason_code);
  if (!report.reason.empty()) details.add("reason", report.reason);
  if (report.details.empty()) return publish_update(id, status, details.span(), terminal);
  bool parsed = false;
  s = json::parse(report.details, kMaxDetails, [&](const json::Value& root) -> Status {
    parsed = true;
    for (json::Value m = root.first_child(); m.valid() && root.is_object(); m = m.next()) {
      std::string_view value = m.as_string().value_or({});
      if (!m.is_string()) {
        json::Writer writer(details.scratch());
        write_json(writer, m);
        value = writer.finish().value_or({});
        details.commit(value.size());
      }
      details.add(m.key(), value);
    }
    return publish_update(id, status, details.span(), terminal);
  });
  if (!parsed) {
    // The inbox checked the details when they were made: not JSON now means a damaged journal entry.
    TETHER_LOG_WARN(log, Origin::kCommands, s, "jobs status of \"%.*s\": details are not JSON; sent without them",
                    static_cast<int>(id.size()), id.data());
    ++stats_.details_dropped;
    return publish_update(id, status, details.span(), terminal);
  }
  return s;
}

Status JobsAdapter::publish_update(std::string_view id, JobStatus status, Span<const jobs::StatusDetail> details,
                                   bool terminal) {
  Logger& log = agent_->logger();
  PendingUpdate update;
  if (!next_token(update.token)) return commands_error(StatusCode::kInternal);
  jobs::UpdateRequest request;
  request.status = status;
  request.status_details = details;  // always: it replaces what an earlier status left
  if (status == JobStatus::kInProgress && settings_.step_timeout_minutes > 0) {
    request.step_timeout_minutes = settings_.step_timeout_minutes;
  }
  request.client_token = update.token.view();
  ErrorText why;
  Result<std::string_view> body = jobs::encode_update(request, Span<char>(request_buffer_, sizeof request_buffer_), &why);
  if (!body.ok()) {
    // Never lose the status itself: without its details.
    TETHER_LOG_ERROR(log, Origin::kCommands, body.status(), "jobs status of \"%.*s\": %s; sent without statusDetails",
                     static_cast<int>(id.size()), id.data(), why.c_str());
    stats_.details_dropped += static_cast<std::uint32_t>(details.size());
    request.status_details = Span<const jobs::StatusDetail>();
    body = jobs::encode_update(request, Span<char>(request_buffer_, sizeof request_buffer_), &why);
    if (!body.ok()) return body.status();
  }
  FixedString<kMaxTopic> topic;
  const Result<std::string_view> built = topics_.build(Topic::kUpdate, topic, id);
  if (!built.ok()) return built.status();
  const Result<PacketToken> sent = agent_->publish(built.value(), bytes_of(body.value()));
  if (!sent.ok()) return sent.status();
  update.job_id.assign(id).ignore();
  update.sent = agent_->clock().now();
  update.terminal = terminal;
  if (updates_.full()) {
    const PendingUpdate oldest = updates_[0];
    updates_.erase(0);
    answered(oldest, StatusAnswer::kRetry);
  }
  static_cast<void>(updates_.push_back(update));  // room made above
  ++stats_.updates_sent;
  TETHER_LOG_DEBUG(log, Origin::kCommands, "jobs status %s of \"%.*s\" sent (clientToken %s)", jobs::to_string(status),
                   static_cast<int>(id.size()), id.data(), update.token.c_str());
  return Status();
}

}  // namespace tether::commands
