// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The AWS IoT Commands and neutral cmd/<thing> adapter of the command inbox: subscriptions,
// requests delivered to the inbox, status updates and their answers. The wire format is the pure
// codec's (command_codec.cpp); the journal, deadlines and status retries are the inbox's.
#include "tether/commands/command_adapter.hpp"

#include "tether/log.hpp"
#include "tether/shadow/document.hpp"

namespace tether::commands {
namespace {

constexpr CommandFilter kAwsFilters[] = {CommandFilter::kRequestJson, CommandFilter::kRequestCbor,
                                         CommandFilter::kRequestGeneric, CommandFilter::kAccepted,
                                         CommandFilter::kRejected};
constexpr CommandFilter kNeutralFilters[] = {CommandFilter::kRequestGeneric, CommandFilter::kAccepted,
                                             CommandFilter::kRejected};
static_assert(sizeof kAwsFilters / sizeof kAwsFilters[0] <= 8, "one bit per filter in granted_");

// Longest reasonDescription sent: the inbox keeps kMaxReason bytes, a direct rejection an ErrorText.
constexpr std::size_t kMaxDescription = ErrorText::kCapacity;

Status commands_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kCommands, detail); }

// At most `max` bytes of `text`, not cutting a UTF-8 sequence (for log lines and buffers).
std::string_view cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

// The inbox's reason code in the codec's alphabet `[A-Z0-9_-]`, at most kMaxStatusReasonCode.
std::string_view reason_code_for(std::string_view code, char (&out)[kMaxStatusReasonCode]) {
  code = code.substr(0, kMaxStatusReasonCode);
  for (std::size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    out[i] = allowed ? c : '_';
  }
  return std::string_view(out, code.size());
}

// `reason` with C0 controls and DEL made spaces (what is left to refuse is broken UTF-8 and C1
// controls: encode() then sends the status without its description).
std::string_view description_for(std::string_view reason, char (&out)[kMaxDescription]) {
  reason = cut(reason, kMaxDescription);
  for (std::size_t i = 0; i < reason.size(); ++i) {
    const auto c = static_cast<unsigned char>(reason[i]);
    out[i] = c < 0x20 || c == 0x7F ? ' ' : reason[i];
  }
  return std::string_view(out, reason.size());
}

Result<ExecutionStatus> execution_status(ExecStatus status) {
  switch (status) {
    case ExecStatus::kInProgress: return ExecutionStatus::kInProgress;
    case ExecStatus::kSucceeded: return ExecutionStatus::kSucceeded;
    case ExecStatus::kFailed: return ExecutionStatus::kFailed;
    case ExecStatus::kRejected: return ExecutionStatus::kRejected;
    case ExecStatus::kTimedOut: return ExecutionStatus::kTimedOut;
    case ExecStatus::kQueued: break;
  }
  return commands_error(StatusCode::kInvalidArgument);
}

}  // namespace

CommandAdapter::CommandAdapter(TopicProfile profile, const CommandAdapterSettings& settings)
    : profile_(profile), settings_(settings) {}

CommandAdapter::~CommandAdapter() {
  if (started_) unsubscribe_first(filters().size());
}

Span<const CommandFilter> CommandAdapter::filters() const {
  if (profile_ == TopicProfile::kAws) return Span<const CommandFilter>(kAwsFilters);
  return Span<const CommandFilter>(kNeutralFilters);
}

void CommandAdapter::unsubscribe_first(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    FixedString<kMaxTopic> filter;
    const Result<std::string_view> built = topics_.filter(filters()[i], filter);
    if (built.ok()) agent_->unsubscribe(built.value()).ignore();
  }
}

bool CommandAdapter::ready() const {
  return started_ && agent_->connected() && granted_ == (1u << filters().size()) - 1;
}

Status CommandAdapter::start(Inbox& inbox, ErrorText* why) {
  if (started_) return commands_error(StatusCode::kFailedPrecondition);
  if (settings_.answer_timeout.count() < 1) {
    set_error_text(why, "commands answer_timeout must be at least 1 ms");
    return commands_error(StatusCode::kInvalidArgument);
  }
  Agent& agent = inbox.agent();
  Status s;
  if (settings_.device_type == DeviceType::kClient) {
    if (profile_ != TopicProfile::kAws) {
      set_error_text(why, "the neutral cmd/<thing> topics have no `clients` device type");
      return commands_error(StatusCode::kInvalidArgument);
    }
    const AgentConfig& config = agent.config();
    s = topics_.init_client(config.client_id.empty() ? agent.topics().thing_name() : config.client_id.view(), why);
  } else {
    // The agent's thing name under this adapter's profile (which may differ from the agent's).
    s = topics_.init(TopicScheme(profile_, agent.topics().thing_name()), why);
  }
  if (!s.ok()) return s;
  agent_ = &agent;
  inbox_ = &inbox;
  const Span<const CommandFilter> wanted = filters();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    FixedString<kMaxTopic> filter;
    const Result<std::string_view> built = topics_.filter(wanted[i], filter);
    s = built.ok() ? agent_->subscribe(built.value(), Qos::k1, [this](const InboundMessage& m) { on_message(m); })
                   : built.status();
    if (!s.ok()) {
      set_error_text(why, "cannot subscribe \"%s\" (%s)", filter.c_str(), to_string(s.code()));
      unsubscribe_first(i);
      return s;
    }
  }
  started_ = true;
  granted_ = 0;
  TETHER_LOG_INFO(agent_->logger(), Origin::kCommands, "%s command adapter started on \"%.*s\"", to_string(source()),
                  static_cast<int>(topics_.prefix().size()), topics_.prefix().data());
  return Status();
}

// ---- agent events --------------------------------------------------------------------------------

void CommandAdapter::on_agent_event(const AgentEvent& event) {
  if (!started_) return;
  if (event.type != AgentEventType::kConnected && event.type != AgentEventType::kDisconnected) return;
  // Answers of the old connection will not come; the inbox forgets what it awaited too.
  granted_ = 0;
  pending_.clear();
}

void CommandAdapter::on_agent_subscribed(std::string_view filter, Status result) {
  if (!started_) return;
  const Span<const CommandFilter> wanted = filters();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    FixedString<kMaxTopic> ours;
    const Result<std::string_view> built = topics_.filter(wanted[i], ours);
    if (!built.ok() || built.value() != filter) continue;
    if (!result.ok()) {
      TETHER_LOG_ERROR(agent_->logger(), Origin::kCommands, result,
                       "%s commands: the broker refused \"%.*s\": %s (check the device policy / ACL)",
                       to_string(source()), static_cast<int>(filter.size()), filter.data(),
                       i + 2 < wanted.size() ? "requests are not received" : "answers to statuses are not received");
      return;
    }
    granted_ = static_cast<std::uint8_t>(granted_ | (1u << i));
    if (ready()) TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "%s command topics subscribed", to_string(source()));
    return;
  }
}

void CommandAdapter::on_tick(Milliseconds now) {
  if (!started_) return;
  for (std::size_t i = pending_.size(); i > 0; --i) {
    if (now - pending_[i - 1].sent < settings_.answer_timeout) continue;
    const PendingUpdate lost = pending_[i - 1];
    pending_.erase(i - 1);
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                    "%s commands: no answer to the status of \"%s\" within %ld ms; the inbox sends it again",
                    to_string(source()), lost.execution_id.c_str(), static_cast<long>(settings_.answer_timeout.count()));
    answered(lost.execution_id.view(), StatusAnswer::kRetry);
  }
}

Milliseconds CommandAdapter::next_tick_due() const {
  Milliseconds due = Milliseconds::max();
  for (const PendingUpdate& p : pending_) {
    if (p.sent + settings_.answer_timeout < due) due = p.sent + settings_.answer_timeout;
  }
  return due;
}

// ---- inbound messages ----------------------------------------------------------------------------

void CommandAdapter::on_message(const InboundMessage& message) {
  if (!started_) return;
  ErrorText why;
  const Result<InboundTopic> topic = topics_.classify(message.topic, &why);
  if (!topic.ok()) {
    // The filters match only this device's topics: an invalid execution id, or a foreign suffix.
    ++stats_.malformed;
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, topic.status(), "%s commands: ignored a message on \"%.*s\": %s",
                    to_string(source()), static_cast<int>(cut(message.topic, 160).size()), message.topic.data(),
                    why.c_str());
    return;
  }
  switch (topic->kind) {
    case CommandTopic::kRequest: on_request(message, topic.value()); return;
    case CommandTopic::kAccepted:
    case CommandTopic::kRejected: on_answer(topic.value(), message.payload); return;
    case CommandTopic::kResponse: return;  // not subscribed: another client's update
  }
}

void CommandAdapter::on_request(const InboundMessage& message, const InboundTopic& topic) {
  ++stats_.requests;
  const Milliseconds received = agent_->clock().now();
  bool delivered = false;
  ErrorText why;
  // A topic and a content type that name no format (MQTT 3.1.1 has no content type): read as JSON.
  InboundTopic as_read = topic;
  if (as_read.format == PayloadFormat::kOther && message.properties.content_type.empty()) {
    as_read.format = PayloadFormat::kJson;
  }
  const Status decoded = decode_request(
      message, as_read,
      [&](const RequestView& request) {
        Incoming in;
        in.id = request.execution_id;
        in.operation = request.operation;
        in.document = request.document;
        in.payload = request.payload;
        in.content_type = request.content_type;
        if (request.message_expiry_s) {
          in.deadline = received + Milliseconds(static_cast<std::int64_t>(*request.message_expiry_s) * 1000);
        }
        delivered = true;
        ++stats_.delivered;
        const Delivery outcome = inbox_->deliver(*this, in);
        TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "%s command \"%.*s\" (%s, %.*s) delivered: %s",
                         to_string(source()), static_cast<int>(in.id.size()), in.id.data(), to_string(request.format),
                         static_cast<int>(cut(in.operation, 64).size()), in.operation.data(), to_string(outcome));
        return Status();
      },
      &why);
  if (delivered) return;
  const std::string_view id = topic.execution_id;
  if (inbox_->status_of(source(), id).ok()) {
    // Known already (delivered readable before): the inbox answers with what it recorded.
    ++stats_.delivered;
    Incoming in;
    in.id = id;
    in.payload = message.payload;
    in.content_type = message.properties.content_type;
    inbox_->deliver(*this, in);
    return;
  }
  ++stats_.invalid_requests;
  TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, decoded, "%s command \"%.*s\" refused: %s", to_string(source()),
                  static_cast<int>(id.size()), id.data(), why.c_str());
  // The parser running out of memory is the device's problem, not the request's.
  const bool no_memory = decoded.code() == StatusCode::kResourceExhausted;
  reject_invalid(id, no_memory ? "NO_MEMORY" : "INVALID_REQUEST", why.view());
}

void CommandAdapter::reject_invalid(std::string_view id, std::string_view reason_code, std::string_view reason) {
  StatusReport report;
  report.status = ExecStatus::kRejected;
  report.reason_code = reason_code;
  report.reason = reason;
  const Status sent = send_status(id, report);
  if (!sent.ok()) {
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, sent,
                    "%s command \"%.*s\": REJECTED not sent (not journaled: the service times it out)",
                    to_string(source()), static_cast<int>(id.size()), id.data());
  }
}

void CommandAdapter::on_answer(const InboundTopic& topic, Span<const std::uint8_t> payload) {
  ErrorText why;
  ExecutionAnswer answer;
  const Status decoded = decode_answer(topic, payload, answer, &why);
  if (!decoded.ok()) {
    // The update it answers stays awaited: unanswered, it is sent again.
    ++stats_.malformed;
    TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, decoded, "%s commands: ignored a malformed answer: %s",
                    to_string(source()), why.c_str());
    return;
  }
  const std::string_view id = topic.execution_id;
  std::size_t i = 0;
  while (i < pending_.size() && pending_[i].execution_id != id) ++i;
  if (i == pending_.size()) {
    ++stats_.unmatched_answers;
    TETHER_LOG_DEBUG(agent_->logger(), Origin::kCommands, "%s commands: ignored an answer for \"%.*s\" (no update awaits one)",
                     to_string(source()), static_cast<int>(id.size()), id.data());
    return;
  }
  pending_.erase(i);
  if (answer.accepted) {
    answered(id, StatusAnswer::kAccepted);
    return;
  }
  const StatusAnswer result = is_retryable(answer.error) ? StatusAnswer::kRetry : StatusAnswer::kFinal;
  TETHER_LOG_WARN(agent_->logger(), Origin::kCommands,
                  commands_error(result == StatusAnswer::kRetry ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition),
                  "%s command status of \"%.*s\" rejected: %s %s%s", to_string(source()), static_cast<int>(id.size()),
                  id.data(), answer.error_code.c_str(), answer.error_message.c_str(),
                  result == StatusAnswer::kRetry ? "; sent again later" : "");
  answered(id, result);
}

void CommandAdapter::answered(std::string_view id, StatusAnswer answer) {
  switch (answer) {
    case StatusAnswer::kAccepted: ++stats_.updates_accepted; break;
    case StatusAnswer::kRetry: ++stats_.updates_retry; break;
    case StatusAnswer::kFinal: ++stats_.updates_final; break;
  }
  inbox_->status_answered(*this, id, answer);
}

// ---- status updates ------------------------------------------------------------------------------

std::size_t CommandAdapter::collect_result(std::string_view id, const json::Value& details, ExecutionStatus status) {
  std::size_t count = 0;
  std::size_t used = 0;
  for (json::Value m = details.first_child(); m.valid(); m = m.next()) {
    ResultEntry entry;
    ErrorText why;
    const char* problem = nullptr;
    if (m.is_string()) {
      entry = ResultEntry::string(m.key(), m.as_string().value_or({}));
    } else if (m.is_bool()) {
      entry = ResultEntry::boolean(m.key(), m.as_bool().value_or(false));
    } else {
      json::Writer writer(Span<char>(value_buffer_ + used, sizeof value_buffer_ - used));
      shadow::write_value(writer, m);
      const Result<std::string_view> text = writer.finish();
      if (text.ok()) {
        entry = ResultEntry::string(m.key(), text.value());
        used += text->size();
      } else {
        problem = "its JSON text does not fit";
      }
    }
    if (problem == nullptr && count == kMaxResultEntries) problem = "too many entries";
    for (std::size_t i = 0; i < count && problem == nullptr; ++i) {
      if (entries_[i].key == entry.key) problem = "the key is used already";
    }
    if (problem == nullptr) {
      // The codec's rules for one entry (UTF-8, no control characters in keys, no empty values).
      StatusUpdate one;
      one.status = status;
      one.result = Span<const ResultEntry>(&entry, 1);
      if (!encode_update(one, Span<char>(update_buffer_, sizeof update_buffer_), &why).ok()) problem = why.c_str();
    }
    if (problem != nullptr) {
      ++stats_.result_dropped;
      TETHER_LOG_WARN(agent_->logger(), Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                      "%s command status of \"%.*s\": result entry \"%.*s\" left out: %s", to_string(source()),
                      static_cast<int>(id.size()), id.data(), static_cast<int>(cut(m.key(), 40).size()), m.key().data(),
                      problem);
      continue;
    }
    entries_[count++] = entry;
  }
  return count;
}

Status CommandAdapter::send_status(std::string_view id, const StatusReport& report) {
  if (!started_) return commands_error(StatusCode::kFailedPrecondition);
  Logger& log = agent_->logger();
  const Result<ExecutionStatus> status = execution_status(report.status);
  if (!status.ok()) {
    TETHER_LOG_ERROR(log, Origin::kCommands, status.status(), "%s command status %s of \"%.*s\" not sent: a device never sets it",
                     to_string(source()), to_string(report.status), static_cast<int>(cut(id, 64).size()), id.data());
    return status.status();
  }
  ErrorText why;
  FixedString<kMaxTopic> topic;
  const Result<std::string_view> built = topics_.build(CommandTopic::kResponse, id, topic, PayloadFormat::kJson, &why);
  if (!built.ok()) {
    TETHER_LOG_ERROR(log, Origin::kCommands, built.status(), "%s command status not sent: %s", to_string(source()),
                     why.c_str());
    return built.status();
  }

  char code[kMaxStatusReasonCode];
  char description[kMaxDescription];
  StatusUpdate update;
  update.status = status.value();
  update.reason_code = reason_code_for(report.reason_code, code);
  if (!update.reason_code.empty()) update.reason_description = description_for(report.reason, description);

  // Encodes `update`; what the service would refuse goes first (the result, then the description):
  // the status itself is always sent.
  const auto encode = [&](StatusUpdate u) -> Result<std::string_view> {
    for (;;) {
      const Result<std::string_view> body = encode_update(u, Span<char>(update_buffer_, sizeof update_buffer_), &why);
      if (body.ok()) return body;
      const char* left_out = nullptr;
      if (!u.result.empty()) {
        left_out = "its result";
        stats_.result_dropped += static_cast<std::uint32_t>(u.result.size());
        u.result = Span<const ResultEntry>();
      } else if (!u.reason_description.empty()) {
        left_out = "its reasonDescription";
        u.reason_description = {};
      } else {
        return body;
      }
      TETHER_LOG_ERROR(log, Origin::kCommands, body.status(), "%s command status of \"%.*s\": %s; sent without %s",
                       to_string(source()), static_cast<int>(id.size()), id.data(), why.c_str(), left_out);
    }
  };

  Result<std::string_view> body = commands_error(StatusCode::kInternal);
  bool encoded = false;
  if (!report.details.empty()) {
    const Status parsed = json::parse(report.details, kMaxDetails, [&](const json::Value& root) -> Status {
      if (!root.is_object()) return commands_error(StatusCode::kInvalidArgument);
      StatusUpdate with_result = update;
      with_result.result = Span<const ResultEntry>(entries_, collect_result(id, root, update.status));
      body = encode(with_result);  // inside the visit: the entries view the tree
      encoded = true;
      return Status();
    });
    if (!parsed.ok()) {
      // The inbox checked the details when they were made: this is a damaged journal entry.
      ++stats_.result_dropped;
      TETHER_LOG_WARN(log, Origin::kCommands, parsed, "%s command status of \"%.*s\": details are not a JSON object; sent without a result",
                      to_string(source()), static_cast<int>(id.size()), id.data());
    }
  }
  if (!encoded) body = encode(update);
  if (!body.ok()) return body.status();

  const Result<PacketToken> sent =
      agent_->publish(built.value(), Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(body->data()), body->size()));
  if (!sent.ok()) return sent.status();
  if (pending_.full()) {
    const PendingUpdate oldest = pending_[0];
    pending_.erase(0);
    answered(oldest.execution_id.view(), StatusAnswer::kRetry);
  }
  PendingUpdate pending;
  pending.execution_id.assign(id).ignore();  // validated by build()
  pending.sent = agent_->clock().now();
  static_cast<void>(pending_.push_back(pending));  // room made above
  ++stats_.updates_sent;
  TETHER_LOG_DEBUG(log, Origin::kCommands, "%s command status %s of \"%.*s\" sent", to_string(source()),
                   to_string(update.status), static_cast<int>(id.size()), id.data());
  return Status();
}

}  // namespace tether::commands
