// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The built-in operations: reboot, set-config and the allow-listed run, as inbox handlers that
// return at once and complete from the agent tick.
#include "tether/commands/builtins.hpp"

#include <cstdio>
#include <cstring>

#include "tether/decimal.hpp"
#include "tether/json.hpp"
#include "tether/log.hpp"
#include "tether/shadow/document.hpp"

namespace tether::commands {
namespace {

Status commands_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kCommands, detail); }

// Members of the configuration a command may never change: the device's identity and credentials,
// the commands section itself (a set-config that widened the allow-list would let the cloud
// run anything after the next restart) and the gpio section (it would let the cloud drive any line).
constexpr std::string_view kProtectedKeys[] = {"thing_name", "client_id", "tls", "pkcs11", "commands", "gpio"};

// Printable text for a status: control bytes other than newline and tab, and every non-ASCII byte,
// become '?' (the JSON writer refuses ill-formed UTF-8, and a tail may start inside a sequence).
std::size_t sanitize(char* text, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b < 0x20 && b != '\n' && b != '\t') || b >= 0x7F) text[i] = '?';
  }
  return size;
}

// Extra arguments of a run request: operands, never options, of a set no shell or program treats
// specially (no spaces, quotes, `$`, `;`, `|`, `&`, `<`, `>`, `*`, `?`, backquotes, ...).
bool is_extra_arg_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ',' || c == ':' || c == '=' || c == '@' || c == '%' || c == '+' || c == '/' || c == '-';
}

// Whether `object` has members other than `allowed` (the operation name is always allowed:
// adapters deliver it inside the document). Sets `*unknown` to the first one.
template <std::size_t N>
bool has_unknown_member(const json::Value& object, const std::string_view (&allowed)[N], std::string_view* unknown) {
  for (json::Value m = object.first_child(); m.valid(); m = m.next()) {
    bool known = m.key() == "operation";
    for (std::string_view a : allowed) known = known || m.key() == a;
    if (!known) {
      *unknown = m.key();
      return true;
    }
  }
  return false;
}

// "<what>" cut to `max` bytes for an error text.
int shown(std::string_view text, std::size_t max = 48) {
  return static_cast<int>(text.size() < max ? text.size() : max);
}

// The compact JSON `text` indented by two spaces per level, for a file people read and edit.
Result<std::string_view> indent_json(std::string_view text, Span<char> out) {
  std::size_t used = 0;
  bool overflow = false;
  const auto put = [&](char c) {
    if (used < out.size()) {
      out[used++] = c;
    } else {
      overflow = true;
    }
  };
  const auto newline = [&](int depth) {
    put('\n');
    for (int i = 0; i < depth * 2; ++i) put(' ');
  };
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      put(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        put(c);
        break;
      case '{':
      case '[':
        put(c);
        if (i + 1 < text.size() && (text[i + 1] == '}' || text[i + 1] == ']')) {
          put(text[++i]);
        } else {
          newline(++depth);
        }
        break;
      case '}':
      case ']':
        newline(--depth);
        put(c);
        break;
      case ',':
        put(c);
        newline(depth);
        break;
      case ':':
        put(c);
        put(' ');
        break;
      default: put(c);
    }
  }
  put('\n');
  if (overflow) return commands_error(StatusCode::kResourceExhausted);
  return std::string_view(out.data(), used);
}

// The dotted paths of the members that differ between two configurations, as a JSON array,
// bounded: paths that do not fit are counted in `more`.
class ChangeList {
 public:
  explicit ChangeList(json::Writer& writer, std::size_t budget) : writer_(writer), budget_(budget) {}

  void collect(const json::Value& before, const json::Value& after) {
    const std::size_t mark = path_.size();
    for (json::Value m = after.first_child(); m.valid(); m = m.next()) {
      const json::Value old = before[m.key()];
      if (shadow::equal(old, m)) continue;
      enter(m.key());
      if (old.is_object() && m.is_object()) {
        collect(old, m);
      } else {
        add();
      }
      leave(mark);
    }
    for (json::Value m = before.first_child(); m.valid(); m = m.next()) {
      if (after[m.key()].valid()) continue;
      enter(m.key());
      add();  // removed
      leave(mark);
    }
  }
  std::size_t count() const { return count_; }
  std::size_t more() const { return more_; }

 private:
  void enter(std::string_view key) {
    if (!path_.empty()) path_.append(".").ignore();
    if (!path_.append(key).ok()) too_long_ = true;
  }
  void leave(std::size_t mark) {
    path_.assign(path_.view().substr(0, mark)).ignore();
    too_long_ = false;
  }
  void add() {
    const std::size_t cost = path_.size() + 3;  // quotes and a comma
    if (too_long_ || cost > budget_) {
      ++more_;
      return;
    }
    budget_ -= cost;
    writer_.string(path_.view());
    ++count_;
  }

  json::Writer& writer_;
  std::size_t budget_;
  FixedString<128> path_;
  bool too_long_ = false;
  std::size_t count_ = 0;
  std::size_t more_ = 0;
};

}  // namespace

InboxSettings inbox_settings(const CommandsConfig& config) {
  InboxSettings s;
  s.max_running = config.max_running;
  s.heartbeat = Milliseconds(static_cast<std::int64_t>(config.heartbeat_s) * 1000);
  return s;
}

Builtins::Builtins(Inbox& inbox, port::System& system, const CommandsConfig& config, const BuiltinsSettings& settings)
    : inbox_(inbox), system_(system), config_(config), settings_(settings) {}

Builtins::~Builtins() {
  stop_all_runs();
  if (attached_) inbox_.agent().detach(*this).ignore();
}

Status Builtins::start(ErrorText* why) {
  if (started_) return commands_error(StatusCode::kFailedPrecondition);
  if (settings_.poll_interval.count() < 1 || settings_.kill_grace.count() < 1 || settings_.reboot_delay.count() < 0) {
    set_error_text(why, "built-in commands: poll_interval and kill_grace must be at least 1 ms");
    return commands_error(StatusCode::kInvalidArgument);
  }
  if (config_.enabled && config_.set_config && settings_.config_workspace.size() < 64) {
    set_error_text(why, "built-in commands: set_config is enabled but BuiltinsSettings::config_workspace is empty");
    return commands_error(StatusCode::kInvalidArgument);
  }
  const auto add = [&](std::string_view name, CommandHandler handler) -> Status {
    const Status s = inbox_.on_command(name, handler);
    if (!s.ok()) {
      set_error_text(why, "built-in commands: cannot register \"%.*s\" (%s)", shown(name), name.data(),
                     to_string(s.code()));
    }
    return s;
  };
  if (config_.enabled) {
    if (config_.reboot)
      TETHER_RETURN_IF_ERROR(add(kRebootOperation, [this](const CommandContext& c) { on_reboot(c); }));
    if (config_.set_config) {
      TETHER_RETURN_IF_ERROR(add(kSetConfigOperation, [this](const CommandContext& c) { on_set_config(c); }));
    }
    if (config_.run_count > 0)
      TETHER_RETURN_IF_ERROR(add(kRunOperation, [this](const CommandContext& c) { on_run(c); }));
  }
  const Status attached = inbox_.agent().attach(*this);
  if (!attached.ok()) {
    set_error_text(why, "built-in commands: cannot attach to the agent (%s)", to_string(attached.code()));
    return attached;
  }
  attached_ = true;
  started_ = true;
  return Status();
}

std::size_t Builtins::running() const {
  std::size_t n = 0;
  for (const Run& r : runs_) n += r.used ? 1 : 0;
  return n;
}

// A completion the inbox did not take: the command ended meanwhile (its deadline passed: the inbox
// reported TIMED_OUT) or the journal cannot be written (the inbox logged it).
void Builtins::completed(Status status, const char* what) {
  // kDeadlineExceeded: the inbox has reported TIMED_OUT already (and logged it).
  if (status.ok() || status.code() == StatusCode::kDeadlineExceeded) return;
  TETHER_LOG_WARN(inbox_.agent().logger(), Origin::kCommands, status, "built-in command: %s not recorded", what);
}

// ---- reboot --------------------------------------------------------------------------------------

void Builtins::on_reboot(const CommandContext& c) {
  if (reboot_.valid()) {
    completed(inbox_.reject(c.execution, "BUSY", "a reboot is already under way"), "refusal");
    return;
  }
  completed(inbox_.progress(c.execution, R"({"step":"rebooting"})"), "progress");
  // Journaled before the restart is asked for: the next start reports SUCCEEDED.
  const Status journaled = inbox_.succeed_after_restart(c.execution);
  if (!journaled.ok()) {
    ++stats_.reboot_failures;
    completed(inbox_.fail(c.execution, "NOT_JOURNALED", "the command journal cannot be written: not rebooting"),
              "failure");
    return;
  }
  reboot_ = c.execution;
  reboot_at_ = inbox_.agent().clock().now() + settings_.reboot_delay;
}

void Builtins::reboot_now() {
  const Execution execution = reboot_;
  reboot_ = Execution();
  // Programs still running are stopped and their commands end now, whether or not the restart
  // then happens (after a restart nothing could report them but as INTERRUPTED).
  for (Run& run : runs_) {
    if (!run.used) continue;
    ++stats_.runs_failed;
    completed(inbox_.fail(run.execution, "REBOOTING", "stopped: the device is restarting"), "failure");
  }
  stop_all_runs();
  ++stats_.reboots_requested;
  TETHER_LOG_INFO(inbox_.agent().logger(), Origin::kCommands, "reboot command: asking the system to restart");
  const Status s = system_.request_reboot();
  if (s.ok()) return;  // under way: SUCCEEDED is reported by the next start
  ++stats_.reboot_failures;
  TETHER_LOG_ERROR(inbox_.agent().logger(), Origin::kCommands, s, "reboot command: the system refused to restart");
  char reason[kMaxReason];
  std::snprintf(reason, sizeof reason, "the system refused to restart (%s/%s/%u)", to_string(s.code()),
                to_string(s.origin()), static_cast<unsigned>(s.detail()));
  completed(inbox_.fail(execution, "REBOOT_FAILED", reason), "failure");
}

// ---- set-config ----------------------------------------------------------------------------------

void Builtins::on_set_config(const CommandContext& c) {
  const auto refuse = [&](const char* code, const char* reason) {
    ++stats_.configs_refused;
    completed(inbox_.reject(c.execution, code, reason), "refusal");
  };
  if (pending_config_.active) return refuse("BUSY", "another set-config is being applied");
  static constexpr std::string_view kMembers[] = {"config", "patch"};
  std::string_view unknown;
  const json::Value& doc = c.document;
  if (!doc.is_object()) return refuse("INVALID_DOCUMENT", "the document must be a JSON object");
  if (has_unknown_member(doc, kMembers, &unknown)) {
    char reason[kMaxReason];
    std::snprintf(reason, sizeof reason, "unknown member \"%.*s\" (expected \"config\" or \"patch\")", shown(unknown),
                  unknown.data());
    return refuse("INVALID_DOCUMENT", reason);
  }
  const json::Value whole = doc["config"];
  const json::Value patch = doc["patch"];
  if (whole.valid() == patch.valid() || !(whole.valid() ? whole : patch).is_object()) {
    return refuse("INVALID_DOCUMENT",
                  "give either \"config\" (the whole file) or \"patch\" (a merge patch), an object");
  }
  // The request is kept as text: the document's tree lives only during this call.
  json::Writer writer(settings_.config_workspace);
  shadow::write_value(writer, whole.valid() ? whole : patch);
  const Result<std::string_view> text = writer.finish();
  if (!text.ok()) {
    if (text.status().code() != StatusCode::kResourceExhausted) {
      return refuse("INVALID_DOCUMENT", "the configuration holds a number beyond the range of a double");
    }
    ++stats_.configs_refused;
    completed(inbox_.fail(c.execution, "CONFIG_TOO_LARGE", "the request does not fit the set-config workspace"),
              "failure");
    return;
  }
  pending_config_.active = true;
  pending_config_.execution = c.execution;
  pending_config_.patch = patch.valid();
  pending_config_.request_size = text->size();
}

void Builtins::apply_config() {
  const Execution execution = pending_config_.execution;
  pending_config_.active = false;
  Logger& log = inbox_.agent().logger();
  const auto fail = [&](const char* code, const char* reason) {
    ++stats_.configs_refused;
    TETHER_LOG_WARN(log, Origin::kCommands, commands_error(StatusCode::kFailedPrecondition), "set-config: %s: %s", code,
                    reason);
    completed(inbox_.fail(execution, code, reason), "failure");
  };
  char reason[kMaxReason];
  Span<char> space = settings_.config_workspace;
  const std::string_view request(space.data(), pending_config_.request_size);
  space = space.subspan(request.size(), space.size());

  // The current file.
  const Result<std::size_t> read = system_.read_config(space);
  if (!read.ok()) {
    std::snprintf(reason, sizeof reason, "cannot read the configuration file (%s/%s/%u)%s",
                  to_string(read.status().code()), to_string(read.status().origin()),
                  static_cast<unsigned>(read.status().detail()),
                  read.status().code() == StatusCode::kResourceExhausted ? ": larger than the workspace" : "");
    return fail("READ_FAILED", reason);
  }
  const std::string_view current(space.data(), *read);
  space = space.subspan(current.size(), space.size());

  // The new file: the request itself, or the current file with the patch applied.
  std::string_view next = request;
  if (pending_config_.patch) {
    json::Writer writer(space);
    ErrorText why;
    const Status merged = json::parse(
        current, kMaxJsonInput,
        [&](const json::Value& before) -> Status {
          return json::parse(request, kMaxJsonInput, [&](const json::Value& patch) -> Status {
            if (!shadow::write_merged(writer, before, patch, shadow::MergeMode::kApply)) {
              writer.begin_object().end_object();
            }
            return Status();
          });
        },
        &why);
    if (!merged.ok()) {
      std::snprintf(reason, sizeof reason, "the current configuration file is not valid JSON: %.*s",
                    shown(why.view(), 100), why.c_str());
      return fail("INVALID_CONFIG", reason);
    }
    const Result<std::string_view> text = writer.finish();
    if (!text.ok()) return fail("CONFIG_TOO_LARGE", "the patched configuration does not fit the set-config workspace");
    next = *text;
    space = space.subspan(next.size(), space.size());
  }

  // Checked as the agent will read it at the next start.
  ErrorText why;
  if (!parse_config(next, {}, candidate_, &why).ok()) return fail("INVALID_CONFIG", why.c_str());

  // What changes, and whether it may.
  char result[kMaxDetails];
  json::Writer out(Span<char>(result, sizeof result));
  std::string_view refused;
  std::size_t changes = 0;
  const Status compared = json::parse(current, kMaxJsonInput, [&](const json::Value& before) -> Status {
    return json::parse(next, kMaxJsonInput, [&](const json::Value& after) -> Status {
      for (std::string_view key : kProtectedKeys) {
        if (!shadow::equal(before[key], after[key])) {
          refused = key;
          return Status();
        }
      }
      out.begin_object().key("applied").string("at_restart").key("changed").begin_array();
      ChangeList list(out, sizeof result - 96);  // room for the rest of the object
      list.collect(before, after);
      out.end_array();
      if (list.more() > 0) out.key("changed_more").number(static_cast<std::int64_t>(list.more()));
      out.end_object();
      changes = list.count() + list.more();
      return Status();
    });
  });
  if (!compared.ok()) return fail("INVALID_CONFIG", "the current configuration file is not valid JSON");
  if (!refused.empty()) {
    ++stats_.configs_refused;
    std::snprintf(reason, sizeof reason, "\"%.*s\" cannot be changed by a command", shown(refused), refused.data());
    completed(inbox_.reject(execution, "PROTECTED_KEY", reason), "refusal");
    return;
  }
  if (changes == 0) {
    ++stats_.configs_unchanged;
    completed(inbox_.succeed(execution, R"({"applied":"unchanged","changed":[]})"), "result");
    return;
  }
  const Result<std::string_view> indented = indent_json(next, space);
  const Status written = system_.replace_config(indented.ok() ? *indented : next);
  if (!written.ok()) {
    std::snprintf(reason, sizeof reason, "cannot write the configuration file (%s/%s/%u); the old file is kept",
                  to_string(written.code()), to_string(written.origin()), static_cast<unsigned>(written.detail()));
    return fail("WRITE_FAILED", reason);
  }
  ++stats_.configs_written;
  const Result<std::string_view> details = out.finish();
  TETHER_LOG_INFO(log, Origin::kCommands,
                  "set-config: the configuration file was replaced (%u changes), applied at the next start",
                  static_cast<unsigned>(changes));
  completed(inbox_.succeed(execution, details.ok() ? *details : R"({"applied":"at_restart"})"), "result");
}

// ---- run -----------------------------------------------------------------------------------------

void Builtins::on_run(const CommandContext& c) {
  char reason[kMaxReason];
  const auto refuse = [&](const char* code, const char* text) {
    ++stats_.runs_refused;
    completed(inbox_.reject(c.execution, code, text), "refusal");
  };
  static constexpr std::string_view kMembers[] = {"name", "args"};
  std::string_view unknown;
  const json::Value& doc = c.document;
  if (!doc.is_object()) return refuse("INVALID_DOCUMENT", "the document must be a JSON object");
  if (has_unknown_member(doc, kMembers, &unknown)) {
    std::snprintf(reason, sizeof reason, "unknown member \"%.*s\" (expected \"name\" and \"args\")", shown(unknown),
                  unknown.data());
    return refuse("INVALID_DOCUMENT", reason);
  }
  const Result<std::string_view> name = doc["name"].as_string();
  if (!name.ok()) return refuse("INVALID_DOCUMENT", "\"name\" must be a string naming an allow-list entry");
  const RunCommandConfig* entry = config_.find_run(*name);
  if (entry == nullptr) {
    std::snprintf(reason, sizeof reason, "\"%.*s\" is not in the allow-list (commands.run)", shown(*name),
                  name->data());
    return refuse("NOT_ALLOWED", reason);
  }

  std::string_view argv[kMaxRunArgs * 2];
  std::size_t argc = 0;
  for (std::size_t i = 0; i < entry->arg_count; ++i) argv[argc++] = entry->args[i].view();
  const json::Value args = doc["args"];
  if (args.valid()) {
    if (!args.is_array()) return refuse("INVALID_DOCUMENT", "\"args\" must be an array of strings");
    if (args.size() > 0 && !entry->extra_args) {
      std::snprintf(reason, sizeof reason, "\"%s\" takes no extra arguments", entry->name.c_str());
      return refuse("INVALID_ARGUMENTS", reason);
    }
    if (args.size() > kMaxRunArgs || argc + args.size() > kMaxProcessArgs) {
      std::snprintf(reason, sizeof reason, "at most %u extra arguments",
                    static_cast<unsigned>(kMaxRunArgs < kMaxProcessArgs - argc ? kMaxRunArgs : kMaxProcessArgs - argc));
      return refuse("INVALID_ARGUMENTS", reason);
    }
    std::size_t index = 0;
    for (json::Value a = args.first_child(); a.valid(); a = a.next(), ++index) {
      const Result<std::string_view> text = a.as_string();
      if (!text.ok() || text->empty() || text->size() > kMaxRunArg) {
        std::snprintf(reason, sizeof reason, "argument %u must be a string of 1 to %u bytes",
                      static_cast<unsigned>(index), static_cast<unsigned>(kMaxRunArg));
        return refuse("INVALID_ARGUMENTS", reason);
      }
      for (std::size_t i = 0; i < text->size(); ++i) {
        const char ch = (*text)[i];
        if (!is_extra_arg_char(ch) || (i == 0 && ch == '-')) {
          const auto b = static_cast<unsigned char>(ch);
          std::snprintf(reason, sizeof reason,
                        "argument %u: %s 0x%02X at byte %u is not allowed (only A-Z a-z 0-9 . _ , : = @ %% + / -, "
                        "and not '-' first)",
                        static_cast<unsigned>(index), b >= 0x20 && b < 0x7F ? "character" : "byte", b,
                        static_cast<unsigned>(i));
          return refuse("INVALID_ARGUMENTS", reason);
        }
      }
      argv[argc++] = *text;
    }
  }

  Run* run = nullptr;
  for (Run& r : runs_) {
    if (!r.used) {
      run = &r;
      break;
    }
  }
  if (run == nullptr) return refuse("BUSY", "every program slot is in use");
  const Result<port::ProcessId> id =
      system_.start_process(entry->path.view(), Span<const std::string_view>(argv, argc));
  if (!id.ok()) {
    ++stats_.runs_refused;
    const Status s = id.status();
    std::snprintf(reason, sizeof reason, "cannot start %.*s (%s/%s/%u)", shown(entry->path.view(), 96),
                  entry->path.c_str(), to_string(s.code()), to_string(s.origin()), static_cast<unsigned>(s.detail()));
    TETHER_LOG_WARN(inbox_.agent().logger(), Origin::kCommands, s, "run \"%s\": %s", entry->name.c_str(), reason);
    completed(inbox_.fail(c.execution, "START_FAILED", reason), "failure");
    return;
  }
  const Milliseconds now = inbox_.agent().clock().now();
  const Milliseconds timeout = now + Milliseconds(static_cast<std::int64_t>(entry->timeout_s) * 1000);
  *run = Run();
  run->used = true;
  run->execution = c.execution;
  run->process = *id;
  run->entry = entry;
  run->timed_out = timeout <= c.deadline;
  run->deadline = run->timed_out ? timeout : c.deadline;
  run->next_progress = config_.heartbeat_s > 0
                           ? now + Milliseconds(static_cast<std::int64_t>(config_.heartbeat_s) * 1000)
                           : Milliseconds::max();
  ++stats_.runs_started;
  TETHER_LOG_INFO(inbox_.agent().logger(), Origin::kCommands, "run \"%s\": %s started with %u arguments",
                  entry->name.c_str(), entry->path.c_str(), static_cast<unsigned>(argc));
  if (next_poll_ > now + settings_.poll_interval) next_poll_ = now + settings_.poll_interval;
}

void Builtins::poll_runs(Milliseconds now) {
  bool any = false;
  for (Run& run : runs_) {
    if (!run.used) continue;
    const Result<port::ProcessStatus> polled = system_.poll_process(run.process);
    if (!polled.ok()) {
      // The System lost the process: nothing more can be learnt about it.
      TETHER_LOG_ERROR(inbox_.agent().logger(), Origin::kCommands, polled.status(),
                       "run \"%s\": cannot poll the program", run.entry->name.c_str());
      ++stats_.runs_failed;
      completed(inbox_.fail(run.execution, "LOST", "the program's state cannot be read"), "failure");
      system_.release_process(run.process).ignore();
      run = Run();
      continue;
    }
    const port::ProcessStatus& status = *polled;
    if (status.state != port::ProcessState::kRunning) {
      finish_run(run, status);
      continue;
    }
    any = true;
    if (now >= run.deadline && !run.terminated) {
      run.terminated = true;
      run.terminated_at = now;
      TETHER_LOG_WARN(inbox_.agent().logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                      "run \"%s\": still running at its %s: SIGTERM", run.entry->name.c_str(),
                      run.timed_out ? "timeout" : "command's deadline");
      system_.signal_process(run.process, port::ProcessSignal::kTerminate).ignore();
    } else if (run.terminated && !run.killed && now - run.terminated_at >= settings_.kill_grace) {
      run.killed = true;
      TETHER_LOG_WARN(inbox_.agent().logger(), Origin::kCommands, commands_error(StatusCode::kDeadlineExceeded),
                      "run \"%s\": still running %s ms after SIGTERM: SIGKILL", run.entry->name.c_str(),
                      Decimal(settings_.kill_grace.count()).c_str());
      system_.signal_process(run.process, port::ProcessSignal::kKill).ignore();
    }
    if (now >= run.next_progress) {
      run.next_progress = now + Milliseconds(static_cast<std::int64_t>(config_.heartbeat_s) * 1000);
      if (status.output_total != run.output_reported) {
        run.output_reported = status.output_total;
        char tail[kRunOutputTail];
        const std::size_t n =
            sanitize(tail, system_.read_output(run.process, Span<char>(tail, sizeof tail)).value_or(0));
        char details[kMaxDetails];
        json::Writer w(Span<char>(details, sizeof details));
        w.begin_object()
            .key("output")
            .string(std::string_view(tail, n))
            .key("output_cut")
            .number(static_cast<std::int64_t>(status.output_total - n))
            .end_object();
        const Result<std::string_view> text = w.finish();
        if (text.ok()) completed(inbox_.progress(run.execution, *text), "progress");
      }
    }
  }
  next_poll_ = any ? now + settings_.poll_interval : Milliseconds::max();
}

void Builtins::finish_run(Run& run, const port::ProcessStatus& status) {
  char tail[kRunOutputTail];
  const std::size_t n = sanitize(tail, system_.read_output(run.process, Span<char>(tail, sizeof tail)).value_or(0));
  const std::uint64_t cut = status.output_total - n;
  Logger& log = inbox_.agent().logger();
  if (status.state == port::ProcessState::kExited && status.exit_code == 0 && !run.terminated) {
    char details[kMaxDetails];
    json::Writer w(Span<char>(details, sizeof details));
    w.begin_object()
        .key("exit_code")
        .number(std::int64_t{0})
        .key("output")
        .string(std::string_view(tail, n))
        .key("output_cut")
        .number(static_cast<std::int64_t>(cut))
        .end_object();
    const Result<std::string_view> text = w.finish();
    ++stats_.runs_succeeded;
    TETHER_LOG_INFO(log, Origin::kCommands, "run \"%s\": exit code 0", run.entry->name.c_str());
    completed(inbox_.succeed(run.execution, text.ok() ? *text : R"({"exit_code":0})"), "result");
  } else {
    const char* code = "NONZERO_EXIT";
    char head[96];
    if (run.terminated) {
      code = "TIMEOUT";
      ++stats_.runs_timed_out;
      std::snprintf(head, sizeof head, "ran past its %s; stopped with %s", run.timed_out ? "timeout" : "deadline",
                    run.killed ? "SIGKILL" : "SIGTERM");
    } else if (status.state == port::ProcessState::kKilled) {
      code = "KILLED";
      ++stats_.runs_failed;
      std::snprintf(head, sizeof head, "killed by signal %d", status.signal);
    } else {
      ++stats_.runs_failed;
      std::snprintf(head, sizeof head, "exit code %d", status.exit_code);
    }
    // The reason holds what fits of the output's end (the inbox keeps kMaxReason bytes).
    const std::size_t head_len = std::strlen(head);
    const char* separator = n > 0 ? "; output: " : "";
    const std::size_t room = kMaxReason - head_len - std::strlen(separator);
    const std::size_t shown_tail = n < room ? n : room;
    char reason[kMaxReason + 1];
    std::snprintf(reason, sizeof reason, "%s%s%.*s", head, separator, static_cast<int>(shown_tail),
                  tail + (n - shown_tail));
    TETHER_LOG_WARN(log, Origin::kCommands, commands_error(StatusCode::kAborted), "run \"%s\": %s (%s)",
                    run.entry->name.c_str(), code, head);
    completed(inbox_.fail(run.execution, code, reason), "failure");
  }
  system_.release_process(run.process).ignore();
  run = Run();
}

void Builtins::stop_all_runs() {
  for (Run& run : runs_) {
    if (!run.used) continue;
    system_.release_process(run.process).ignore();  // killed if still running
    run = Run();
  }
  next_poll_ = Milliseconds::max();
}

// ---- the agent tick ------------------------------------------------------------------------------

void Builtins::on_agent_tick(Milliseconds now) {
  if (pending_config_.active) apply_config();
  if (now >= next_poll_) poll_runs(now);
  if (reboot_.valid() && now >= reboot_at_) reboot_now();
}

Milliseconds Builtins::next_tick_due() const {
  Milliseconds due = next_poll_;
  if (pending_config_.active) due = Milliseconds(0);
  if (reboot_.valid() && reboot_at_ < due) due = reboot_at_;
  return due;
}

}  // namespace tether::commands
