// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The command inbox: deliveries from adapters, the journal, completions, deadlines, heartbeats and
// status retries. The journal record layout is at persist().
#include "tether/commands/inbox.hpp"

#include <cstring>

#include "tether/log.hpp"
#include "tether/utf8.hpp"

namespace tether::commands {
namespace {

constexpr char kMagic[4] = {'T', 'C', 'J', '1'};
constexpr Milliseconds kAckWriteInterval{5000};
constexpr std::string_view kEndedByService = "ENDED_BY_SERVICE";

Status commands_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kCommands, detail); }

bool valid_operation_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxOperationName) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_reason_code(std::string_view code) {
  if (code.empty() || code.size() > kMaxReasonCode) return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// A JSON object of at most kMaxDetails bytes, or empty.
Status check_details(std::string_view details) {
  if (details.empty()) return Status();
  if (details.size() > kMaxDetails) return commands_error(StatusCode::kInvalidArgument, static_cast<std::uint16_t>(details.size()));
  return json::parse(details, kMaxDetails, [](const json::Value& root) {
    return root.is_object() ? Status() : commands_error(StatusCode::kInvalidArgument);
  });
}

template <std::size_t N>
void assign_cut(FixedString<N>& out, std::string_view text) {
  out.assign(utf8::prefix_bytes(text, N)).ignore();
}

// Little-endian record writer / reader over a char buffer.
class Out {
 public:
  Out(char* p, std::size_t cap) : p_(p), cap_(cap) {}
  void u8(std::uint8_t v) { put(reinterpret_cast<const char*>(&v), 1); }
  void u32(std::uint32_t v) {
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    put(b, 4);
  }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  void put(const char* d, std::size_t n) {
    if (n > cap_ - used_) {
      ok_ = false;
      return;
    }
    std::memcpy(p_ + used_, d, n);
    used_ += n;
  }
  bool ok() const { return ok_; }
  std::size_t used() const { return used_; }

 private:
  char* p_;
  std::size_t cap_;
  std::size_t used_ = 0;
  bool ok_ = true;
};

class In {
 public:
  In(const char* p, std::size_t size) : p_(p), size_(size) {}
  bool u8(std::uint8_t& v) {
    if (size_ - at_ < 1) return false;
    v = static_cast<std::uint8_t>(p_[at_++]);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (size_ - at_ < 4) return false;
    v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p_[at_ + static_cast<std::size_t>(i)]);
    at_ += 4;
    return true;
  }
  template <std::size_t N>
  bool str(FixedString<N>& out) {
    std::uint32_t n = 0;
    if (!u32(n) || n > N || size_ - at_ < n) return false;
    out.assign(std::string_view(p_ + at_, n)).ignore();
    at_ += n;
    return true;
  }
  bool done() const { return at_ == size_; }

 private:
  const char* p_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

const char* to_string(Source source) {
  switch (source) {
    case Source::kJobs: return "jobs";
    case Source::kCommands: return "commands";
    case Source::kNeutral: return "neutral";
  }
  return "?";
}

const char* to_string(ExecStatus status) {
  switch (status) {
    case ExecStatus::kQueued: return "QUEUED";
    case ExecStatus::kInProgress: return "IN_PROGRESS";
    case ExecStatus::kSucceeded: return "SUCCEEDED";
    case ExecStatus::kFailed: return "FAILED";
    case ExecStatus::kRejected: return "REJECTED";
    case ExecStatus::kTimedOut: return "TIMED_OUT";
  }
  return "?";
}

bool is_terminal(ExecStatus status) {
  return status == ExecStatus::kSucceeded || status == ExecStatus::kFailed || status == ExecStatus::kRejected ||
         status == ExecStatus::kTimedOut;
}

const char* to_string(Delivery delivery) {
  switch (delivery) {
    case Delivery::kStarted: return "started";
    case Delivery::kDuplicate: return "duplicate";
    case Delivery::kRejected: return "rejected";
    case Delivery::kExpired: return "expired";
    case Delivery::kNotStored: return "not stored";
  }
  return "?";
}

Inbox::Inbox(Agent& agent, port::KvStore* journal, const InboxSettings& settings)
    : agent_(agent), journal_(journal), settings_(settings) {}

Inbox::~Inbox() {
  if (started_) agent_.detach(*this).ignore();
}

Status Inbox::add_adapter(Adapter& adapter) {
  if (started_) return commands_error(StatusCode::kFailedPrecondition);
  if (adapter_for(adapter.source()) != nullptr) return commands_error(StatusCode::kAlreadyExists);
  if (!adapters_.push_back(&adapter)) return commands_error(StatusCode::kResourceExhausted);
  return Status();
}

Status Inbox::on_command(std::string_view name, CommandHandler handler, bool resume_after_restart) {
  if (!valid_operation_name(name) || !handler) return commands_error(StatusCode::kInvalidArgument);
  if (operation(name) != nullptr) return commands_error(StatusCode::kAlreadyExists);
  Operation op;
  op.name.assign(name).ignore();
  op.handler = handler;
  op.resumable = resume_after_restart;
  if (!operations_.push_back(op)) return commands_error(StatusCode::kResourceExhausted);
  return Status();
}

Status Inbox::start(ErrorText* why) {
  if (started_) return commands_error(StatusCode::kFailedPrecondition);
  if (settings_.max_running < 1 || settings_.max_running > kMaxRunning) {
    set_error_text(why, "commands max_running must be 1..%u (is %u)", static_cast<unsigned>(kMaxRunning),
                   static_cast<unsigned>(settings_.max_running));
    return commands_error(StatusCode::kOutOfRange, settings_.max_running);
  }
  if (journal_ != nullptr && !validate_kv_key(settings_.store_key).ok()) {
    set_error_text(why, "commands store_key \"%.*s\" is not a valid KvStore key", static_cast<int>(settings_.store_key.size()),
                   settings_.store_key.data());
    return commands_error(StatusCode::kInvalidArgument);
  }
  load();
  resolve_restart();
  for (Adapter* a : adapters_) {
    const Status s = a->start(*this, why);
    if (!s.ok()) return s;
  }
  const Status s = agent_.attach(*this);
  if (!s.ok()) {
    set_error_text(why, "cannot attach the command inbox to the agent (%s)", to_string(s.code()));
    return s;
  }
  started_ = true;
  return Status();
}

// ---- deliveries ----------------------------------------------------------------------------------

Delivery Inbox::deliver(Adapter& adapter, const Incoming& command) {
  ++stats_.delivered;
  Logger& log = agent_.logger();
  if (command.id.empty() || command.id.size() > kMaxCommandId) {
    ++stats_.rejected;
    TETHER_LOG_WARN(log, Origin::kCommands, commands_error(StatusCode::kInvalidArgument),
                    "%s command with an id of %u bytes ignored (1..%u)", to_string(adapter.source()),
                    static_cast<unsigned>(command.id.size()), static_cast<unsigned>(kMaxCommandId));
    return Delivery::kRejected;
  }
  if (Entry* known = find(adapter.source(), command.id)) {
    if ((known->flags & kAwaitingResume) != 0) {
      const Operation* op = operation(known->operation.view());
      if (op != nullptr) {
        known->flags = static_cast<std::uint8_t>(known->flags & ~kAwaitingResume);
        ++stats_.resumed;
        TETHER_LOG_INFO(log, Origin::kCommands, "%s command \"%s\" (%s) resumed after the restart",
                        to_string(adapter.source()), known->id.c_str(), known->operation.c_str());
        run_handler(*known, *op, adapter, command, true);
        return Delivery::kStarted;
      }
    }
    ++stats_.duplicates;
    TETHER_LOG_INFO(log, Origin::kCommands, "%s command \"%s\" delivered again: %s sent again, not run twice",
                    to_string(adapter.source()), known->id.c_str(), to_string(known->status));
    known->flags = static_cast<std::uint8_t>(known->flags | kUnacked);
    send(*known);
    return Delivery::kDuplicate;
  }
  if (command.deadline <= agent_.clock().now()) {
    ++stats_.expired;
    return refuse(adapter, command, ExecStatus::kTimedOut, "EXPIRED", "the deadline passed before the command started");
  }
  const Operation* op = operation(command.operation);
  if (op == nullptr) {
    ++stats_.rejected;
    ErrorText text;
    set_error_text(&text, "no handler for operation \"%.*s\"", static_cast<int>(utf8::prefix_bytes(command.operation, 64).size()),
                   command.operation.data());
    return refuse(adapter, command, ExecStatus::kRejected, "UNKNOWN_OPERATION", text.view());
  }
  if (running_count() >= settings_.max_running) {
    ++stats_.rejected;
    return refuse(adapter, command, ExecStatus::kRejected, "BUSY", "the device is running other commands");
  }
  Entry* entry = allocate();
  if (entry == nullptr) {
    ++stats_.rejected;
    return refuse(adapter, command, ExecStatus::kRejected, "BUSY", "the command journal is full");
  }
  entry->used = true;
  entry->source = adapter.source();
  entry->status = ExecStatus::kInProgress;
  entry->flags = kRunning | kUnacked;
  entry->order = next_order_++;
  entry->id.assign(command.id).ignore();
  entry->operation.assign(command.operation).ignore();
  entry->reason_code.clear();
  entry->reason.clear();
  entry->details.clear();
  entry->deadline = command.deadline;
  entry->answers_due = 0;
  // Journaled before it runs: a restart from here on never runs it a second time.
  const Status stored = persist();
  if (!stored.ok()) {
    entry->used = false;
    TETHER_LOG_ERROR(log, Origin::kCommands, stored, "%s command \"%s\" not started: the journal cannot be written",
                     to_string(adapter.source()), entry->id.c_str());
    return Delivery::kNotStored;
  }
  ++stats_.started;
  TETHER_LOG_INFO(log, Origin::kCommands, "%s command \"%s\" (%s) started", to_string(adapter.source()),
                  entry->id.c_str(), entry->operation.c_str());
  send(*entry);
  run_handler(*entry, *op, adapter, command, false);
  return Delivery::kStarted;
}

void Inbox::run_handler(Entry& entry, const Operation& op, Adapter& adapter, const Incoming& command, bool resumed) {
  entry.generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;
  CommandContext context;
  context.source = adapter.source();
  context.id = entry.id.view();
  context.operation = entry.operation.view();
  context.document = command.document;
  context.payload = command.payload;
  context.content_type = command.content_type;
  context.deadline = command.deadline;
  context.resumed = resumed;
  context.execution = Execution(static_cast<std::uint8_t>(&entry - entries_), entry.generation);
  entry.deadline = command.deadline;
  op.handler(context);
}

Delivery Inbox::refuse(Adapter& adapter, const Incoming& command, ExecStatus status, std::string_view code,
                       std::string_view reason) {
  TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, commands_error(StatusCode::kFailedPrecondition),
                  "%s command \"%.*s\" %s: %.*s", to_string(adapter.source()), static_cast<int>(command.id.size()),
                  command.id.data(), to_string(status), static_cast<int>(reason.size()), reason.data());
  // Journaled too, so a redelivery gets the same answer.
  Entry* entry = allocate();
  if (entry != nullptr) {
    entry->used = true;
    entry->source = adapter.source();
    entry->status = status;
    entry->flags = kUnacked;
    entry->order = next_order_++;
    entry->generation = 0;
    entry->id.assign(command.id).ignore();
    assign_cut(entry->operation, command.operation);
    entry->reason_code.assign(code).ignore();
    assign_cut(entry->reason, reason);
    entry->details.clear();
    entry->answers_due = 0;
    if (!persist().ok()) ++stats_.journal_failures;
    send(*entry);
  } else {
    StatusReport report;
    report.status = status;
    report.reason_code = code;
    report.reason = reason;
    if (agent_.connected() && adapter.send_status(command.id, report).ok()) ++stats_.statuses_sent;
  }
  return status == ExecStatus::kTimedOut ? Delivery::kExpired : Delivery::kRejected;
}

// ---- completions ---------------------------------------------------------------------------------

Inbox::Entry* Inbox::running(Execution execution, Status& error) {
  if (!execution.valid() || execution.slot_ >= kJournalEntries) {
    error = commands_error(StatusCode::kNotFound);
    return nullptr;
  }
  Entry& entry = entries_[execution.slot_];
  if (!entry.used || entry.generation != execution.generation_ || (entry.flags & kRunning) == 0) {
    const bool timed_out = entry.used && entry.status == ExecStatus::kTimedOut && entry.generation == 0;
    const bool ended = entry.used && entry.generation == 0 && entry.reason_code == kEndedByService;
    error = commands_error(timed_out ? StatusCode::kDeadlineExceeded
                           : ended  ? StatusCode::kCancelled
                                    : StatusCode::kNotFound);
    return nullptr;
  }
  return &entry;
}

Status Inbox::progress(Execution execution, std::string_view details) {
  Status error;
  Entry* entry = running(execution, error);
  if (entry == nullptr) return error;
  const Status s = check_details(details);
  if (!s.ok()) return s;
  entry->details.assign(details).ignore();
  entry->flags = static_cast<std::uint8_t>(entry->flags | kUnacked);
  send(*entry);
  return Status();
}

Status Inbox::succeed(Execution execution, std::string_view result) {
  Status error;
  Entry* entry = running(execution, error);
  if (entry == nullptr) return error;
  const Status s = check_details(result);
  if (!s.ok()) return s;
  return finish(*entry, ExecStatus::kSucceeded, {}, {}, result);
}

Status Inbox::fail(Execution execution, std::string_view reason_code, std::string_view reason) {
  Status error;
  Entry* entry = running(execution, error);
  if (entry == nullptr) return error;
  if (!valid_reason_code(reason_code)) return commands_error(StatusCode::kInvalidArgument);
  return finish(*entry, ExecStatus::kFailed, reason_code, reason, {});
}

Status Inbox::reject(Execution execution, std::string_view reason_code, std::string_view reason) {
  Status error;
  Entry* entry = running(execution, error);
  if (entry == nullptr) return error;
  if (!valid_reason_code(reason_code)) return commands_error(StatusCode::kInvalidArgument);
  return finish(*entry, ExecStatus::kRejected, reason_code, reason, {});
}

Status Inbox::succeed_after_restart(Execution execution) {
  Status error;
  Entry* entry = running(execution, error);
  if (entry == nullptr) return error;
  const std::uint8_t before = entry->flags;
  entry->flags = static_cast<std::uint8_t>(entry->flags | kRebootPending);
  const Status s = persist();
  if (!s.ok()) entry->flags = before;
  return s;
}

Status Inbox::finish(Entry& entry, ExecStatus status, std::string_view code, std::string_view reason,
                     std::string_view details) {
  const Entry before = entry;
  entry.status = status;
  entry.flags = static_cast<std::uint8_t>((entry.flags & ~(kRunning | kAwaitingResume | kRebootPending)) | kUnacked);
  entry.reason_code.assign(code).ignore();
  assign_cut(entry.reason, reason);
  entry.details.assign(details).ignore();
  entry.order = next_order_++;
  const Status stored = persist();
  if (!stored.ok()) {
    entry = before;  // still running: the caller may try again
    return stored;
  }
  entry.generation = 0;
  switch (status) {
    case ExecStatus::kSucceeded: ++stats_.succeeded; break;
    case ExecStatus::kTimedOut: ++stats_.expired; break;
    case ExecStatus::kRejected: ++stats_.rejected; break;  // by its handler (a bad document, say)
    default: ++stats_.failed; break;
  }
  TETHER_LOG_INFO(agent_.logger(), Origin::kCommands, "%s command \"%s\" (%s) %s%s%s", to_string(entry.source),
                  entry.id.c_str(), entry.operation.c_str(), to_string(status), code.empty() ? "" : ": ",
                  entry.reason_code.c_str());
  send(entry);
  for (Adapter* a : adapters_) a->on_slot_free();
  return Status();
}

// ---- sending and acknowledgements ----------------------------------------------------------------

void Inbox::send(Entry& entry) {
  Adapter* adapter = adapter_for(entry.source);
  if (adapter == nullptr || !agent_.connected()) return;  // sent after the (re)connect
  StatusReport report;
  report.status = entry.status;
  report.reason_code = entry.reason_code.view();
  report.reason = entry.reason.view();
  report.details = entry.details.view();
  entry.last_sent = agent_.clock().now();
  const Status s = adapter->send_status(entry.id.view(), report);
  if (!s.ok()) {
    TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, s, "%s status of \"%s\" not sent; retrying",
                    to_string(entry.status), entry.id.c_str());
    return;
  }
  ++stats_.statuses_sent;
  if (entry.answers_due < 255) ++entry.answers_due;
}

void Inbox::status_answered(Adapter& adapter, std::string_view id, StatusAnswer answer) {
  Entry* entry = find(adapter.source(), id);
  if (entry == nullptr) return;
  if (entry->answers_due > 0) --entry->answers_due;
  if (answer == StatusAnswer::kRetry) return;  // stays unacknowledged: the retry timer sends it again
  if (answer == StatusAnswer::kFinal) {
    ++stats_.statuses_final;
    TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, commands_error(StatusCode::kFailedPrecondition),
                    "the service refused the %s status of %s command \"%s\" for good; not sent again",
                    to_string(entry->status), to_string(entry->source), entry->id.c_str());
  }
  // Answers come in order: the last one due answers the status sent last, the current one (a final
  // refusal of an earlier status, e.g. IN_PROGRESS after the service timed the command out, does
  // not acknowledge a later SUCCEEDED).
  if (entry->answers_due == 0) {
    entry->flags = static_cast<std::uint8_t>(entry->flags & ~kUnacked);
    if (is_terminal(entry->status)) journal_dirty_ = true;
  }
  if (answer == StatusAnswer::kFinal && (entry->flags & kRunning) != 0) {
    // The service ended it (timed out, canceled) while it ran here: stop heartbeats, free the slot;
    // the handler's completion gets kCancelled.
    entry->status = ExecStatus::kFailed;
    entry->flags = static_cast<std::uint8_t>(entry->flags & ~(kRunning | kAwaitingResume | kRebootPending | kUnacked));
    entry->reason_code.assign(kEndedByService).ignore();
    entry->reason.assign("the service ended the command while it ran").ignore();
    entry->generation = 0;
    ++stats_.failed;
    if (!persist().ok()) journal_dirty_ = true;
    for (Adapter* a : adapters_) a->on_slot_free();
  }
}

// ---- agent hooks ---------------------------------------------------------------------------------

void Inbox::on_agent_event(const AgentEvent& event) {
  if (event.type == AgentEventType::kConnected || event.type == AgentEventType::kDisconnected) {
    for (Entry& e : entries_) e.answers_due = 0;  // answers of the old connection will not come
  }
  for (Adapter* a : adapters_) a->on_agent_event(event);
  if (event.type == AgentEventType::kConnected) {
    for (Entry& e : entries_) {
      if (e.used && (e.flags & kUnacked) != 0) send(e);
    }
  }
}

void Inbox::on_agent_subscribed(std::string_view filter, Status result) {
  for (Adapter* a : adapters_) a->on_agent_subscribed(filter, result);
}

void Inbox::on_agent_tick(Milliseconds now) {
  for (Entry& e : entries_) {
    if (!e.used) continue;
    if ((e.flags & kRunning) != 0 && (e.flags & kAwaitingResume) == 0 && now >= e.deadline) {
      TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                      "%s command \"%s\" (%s) ran past its deadline", to_string(e.source), e.id.c_str(),
                      e.operation.c_str());
      if (!finish(e, ExecStatus::kTimedOut, "TIMEOUT", "the deadline passed while the command ran", {}).ok()) {
        ++stats_.journal_failures;
      }
      continue;
    }
    const bool heartbeat = (e.flags & kRunning) != 0 && settings_.heartbeat.count() > 0 &&
                           now - e.last_sent >= settings_.heartbeat;
    const bool retry = (e.flags & kUnacked) != 0 && now - e.last_sent >= settings_.status_retry;
    if (retry) e.answers_due = 0;  // an answer that did not come in status_retry is taken as lost
    if (heartbeat || retry) send(e);
  }
  if (journal_dirty_ && now - last_write_ >= kAckWriteInterval) persist().ignore();
  for (Adapter* a : adapters_) a->on_tick(now);
}

Milliseconds Inbox::next_tick_due() const {
  Milliseconds due = Milliseconds::max();
  const auto earliest = [&due](Milliseconds t) {
    if (t < due) due = t;
  };
  const bool online = agent_.connected();
  for (const Entry& e : entries_) {
    if (!e.used) continue;
    if ((e.flags & kRunning) != 0 && (e.flags & kAwaitingResume) == 0) {
      earliest(e.deadline);
      if (online && settings_.heartbeat.count() > 0) earliest(e.last_sent + settings_.heartbeat);
    }
    if (online && (e.flags & kUnacked) != 0) earliest(e.last_sent + settings_.status_retry);
  }
  if (journal_dirty_) earliest(last_write_ + kAckWriteInterval);
  for (const Adapter* a : adapters_) earliest(a->next_tick_due());
  return due;
}

// ---- lookups -------------------------------------------------------------------------------------

Inbox::Entry* Inbox::find(Source source, std::string_view id) {
  for (Entry& e : entries_) {
    if (e.used && e.source == source && e.id == id) return &e;
  }
  return nullptr;
}

const Inbox::Entry* Inbox::find(Source source, std::string_view id) const {
  for (const Entry& e : entries_) {
    if (e.used && e.source == source && e.id == id) return &e;
  }
  return nullptr;
}

Result<ExecStatus> Inbox::status_of(Source source, std::string_view id) const {
  const Entry* e = find(source, id);
  if (e == nullptr) return commands_error(StatusCode::kNotFound);
  return e->status;
}

Inbox::Entry* Inbox::allocate() {
  Entry* oldest_acked = nullptr;
  Entry* oldest_unacked = nullptr;
  for (Entry& e : entries_) {
    if (!e.used) return &e;
    if ((e.flags & kRunning) != 0) continue;
    Entry*& slot = (e.flags & kUnacked) != 0 ? oldest_unacked : oldest_acked;
    if (slot == nullptr || e.order < slot->order) slot = &e;
  }
  if (oldest_acked != nullptr) return oldest_acked;
  if (oldest_unacked != nullptr) {
    TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, commands_error(StatusCode::kResourceExhausted),
                    "journal full: the %s status of \"%s\" is forgotten before the service acknowledged it",
                    to_string(oldest_unacked->status), oldest_unacked->id.c_str());
  }
  return oldest_unacked;
}

Adapter* Inbox::adapter_for(Source source) const {
  for (Adapter* a : adapters_) {
    if (a->source() == source) return a;
  }
  return nullptr;
}

const Inbox::Operation* Inbox::operation(std::string_view name) const {
  for (const Operation& op : operations_) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::size_t Inbox::running_count() const {
  std::size_t n = 0;
  // A command waiting after a restart to be handed out again holds no slot: the service may never
  // hand it back (canceled meanwhile), and it must not block other commands forever.
  for (const Entry& e : entries_) n += e.used && (e.flags & kRunning) != 0 && (e.flags & kAwaitingResume) == 0 ? 1 : 0;
  return n;
}

std::size_t Inbox::free_slots() const {
  const std::size_t running = running_count();
  return running >= settings_.max_running ? 0 : settings_.max_running - running;
}

// ---- the journal ---------------------------------------------------------------------------------

// Record: "TCJ1", entry count (u8), then per used entry: source, status, flags (u8 each), order
// (u32), id, operation, reason code, reason, details (u32 length + bytes each).
Status Inbox::persist() {
  last_write_ = agent_.clock().now();
  if (journal_ == nullptr) {
    journal_dirty_ = false;
    return Status();
  }
  Out out(record_, sizeof record_);
  out.put(kMagic, 4);
  std::uint8_t count = 0;
  for (const Entry& e : entries_) count = static_cast<std::uint8_t>(count + (e.used ? 1 : 0));
  out.u8(count);
  for (const Entry& e : entries_) {
    if (!e.used) continue;
    out.u8(static_cast<std::uint8_t>(e.source));
    out.u8(static_cast<std::uint8_t>(e.status));
    out.u8(e.flags);
    out.u32(e.order);
    out.str(e.id.view());
    out.str(e.operation.view());
    out.str(e.reason_code.view());
    out.str(e.reason.view());
    out.str(e.details.view());
  }
  Status s = out.ok() ? journal_->put(settings_.store_key,
                                      Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(record_), out.used()))
                      : commands_error(StatusCode::kInternal);
  if (!s.ok()) {
    ++stats_.journal_failures;
    TETHER_LOG_ERROR(agent_.logger(), Origin::kCommands, s, "command journal \"%.*s\" not written",
                     static_cast<int>(settings_.store_key.size()), settings_.store_key.data());
    return s;
  }
  ++stats_.journal_writes;
  journal_dirty_ = false;
  return Status();
}

bool Inbox::decode_journal(std::size_t size) {
  In in(record_, size);
  char magic[4] = {};
  std::uint8_t count = 0;
  for (char& c : magic) {
    std::uint8_t b = 0;
    if (!in.u8(b)) return false;
    c = static_cast<char>(b);
  }
  if (std::memcmp(magic, kMagic, 4) != 0 || !in.u8(count) || count > kJournalEntries) return false;
  for (std::uint8_t i = 0; i < count; ++i) {
    Entry& e = entries_[i];
    std::uint8_t source = 0;
    std::uint8_t status = 0;
    if (!in.u8(source) || !in.u8(status) || !in.u8(e.flags) || !in.u32(e.order) || !in.str(e.id) ||
        !in.str(e.operation) || !in.str(e.reason_code) || !in.str(e.reason) || !in.str(e.details) ||
        source > static_cast<std::uint8_t>(Source::kNeutral) ||
        status > static_cast<std::uint8_t>(ExecStatus::kTimedOut) || e.id.empty()) {
      return false;
    }
    e.source = static_cast<Source>(source);
    e.status = static_cast<ExecStatus>(status);
    e.used = true;
    if (e.order >= next_order_) next_order_ = e.order + 1;
  }
  return in.done();
}

void Inbox::load() {
  for (Entry& e : entries_) e = Entry{};
  if (journal_ == nullptr) return;
  Result<std::size_t> got =
      journal_->get(settings_.store_key, Span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(record_), sizeof record_));
  if (!got.ok() && got.status().code() == StatusCode::kNotFound) return;
  if (got.ok() && decode_journal(got.value())) return;
  for (Entry& e : entries_) e = Entry{};
  // Without the journal a redelivered command could run a second time: say so loudly.
  TETHER_LOG_ERROR(agent_.logger(), Origin::kCommands, got.ok() ? commands_error(StatusCode::kDataLoss) : got.status(),
                   "command journal \"%.*s\" is unreadable and was discarded: a command delivered again may run again",
                   static_cast<int>(settings_.store_key.size()), settings_.store_key.data());
}

void Inbox::resolve_restart() {
  bool changed = false;
  for (Entry& e : entries_) {
    if (!e.used || (e.flags & kRunning) == 0) continue;
    changed = true;
    if ((e.flags & kRebootPending) != 0) {
      e.status = ExecStatus::kSucceeded;
      e.flags = kUnacked;
      ++stats_.succeeded;
      TETHER_LOG_INFO(agent_.logger(), Origin::kCommands, "%s command \"%s\" (%s) completed by the restart",
                      to_string(e.source), e.id.c_str(), e.operation.c_str());
      continue;
    }
    const Operation* op = operation(e.operation.view());
    const Adapter* adapter = adapter_for(e.source);
    if (op != nullptr && op->resumable && adapter != nullptr && adapter->pulls_work()) {
      e.flags = static_cast<std::uint8_t>(e.flags | kAwaitingResume);
      continue;  // the service hands it out again (Jobs: the execution is still IN_PROGRESS)
    }
    e.status = ExecStatus::kFailed;
    e.flags = kUnacked;
    e.reason_code.assign("INTERRUPTED").ignore();
    e.reason.assign("the device restarted while the command ran").ignore();
    ++stats_.interrupted;
    TETHER_LOG_WARN(agent_.logger(), Origin::kCommands, commands_error(StatusCode::kAborted),
                    "%s command \"%s\" (%s) was interrupted by a restart: reported FAILED", to_string(e.source),
                    e.id.c_str(), e.operation.c_str());
  }
  if (changed) persist().ignore();
}

}  // namespace tether::commands
