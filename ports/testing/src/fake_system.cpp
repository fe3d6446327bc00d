// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/testing/fake_system.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tether::testing {

namespace {
// Signal numbers as Linux (and the port's documentation) has them.
constexpr int kSigterm = 15;
constexpr int kSigkill = 9;

Status os_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kOs, detail); }
}  // namespace

FakeSystem::FakeSystem(std::size_t max_processes, std::size_t output_capacity, bool has_config_file)
    : slots_(max_processes), output_capacity_(output_capacity), config_supported_(has_config_file) {}

void FakeSystem::add_program(std::string path, Program program) {
  programs_.push_back(NamedProgram{std::move(path), std::move(program)});
}

void FakeSystem::set_config_file(std::string text) {
  config_supported_ = true;
  config_present_ = true;
  config_ = std::move(text);
}

// --- restart and configuration --------------------------------------------------------------------

Status FakeSystem::do_request_reboot() {
  ++reboot_requests_;
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kRequestReboot));
  return injected.ok() ? reboot_result_ : injected;
}

Result<std::size_t> FakeSystem::do_read_config(Span<char> out) {
  if (!config_supported_) return os_error(StatusCode::kUnimplemented);
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kReadConfig));
  if (!injected.ok()) return injected;
  if (!config_present_) return os_error(StatusCode::kNotFound, 2);  // ENOENT
  if (config_.size() > out.size()) {
    return os_error(StatusCode::kResourceExhausted,
                    static_cast<std::uint16_t>(std::min<std::size_t>(config_.size(), 0xFFFF)));
  }
  if (!config_.empty()) std::memcpy(out.data(), config_.data(), config_.size());
  return config_.size();
}

Status FakeSystem::do_replace_config(std::string_view text) {
  if (!config_supported_) return os_error(StatusCode::kUnimplemented);
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kReplaceConfig));
  if (!injected.ok()) return injected;
  config_.assign(text.data(), text.size());
  config_present_ = true;
  ++config_writes_;
  return Status();
}

// --- processes ------------------------------------------------------------------------------------

FakeSystem::Slot* FakeSystem::find(port::ProcessId id) {
  for (Slot& s : slots_) {
    if (s.used && s.id == id) return &s;
  }
  return nullptr;
}

FakeSystem::Slot* FakeSystem::find_running(port::ProcessId id) {
  Slot* s = find(id);
  return s != nullptr && !s->ended ? s : nullptr;
}

Result<port::ProcessId> FakeSystem::do_start_process(std::string_view path, Span<const std::string_view> args) {
  TETHER_RETURN_IF_ERROR(port::validate_process_request(path, args));
  Slot* slot = nullptr;
  for (Slot& s : slots_) {
    if (!s.used) {
      slot = &s;
      break;
    }
  }
  if (slot == nullptr) return os_error(StatusCode::kResourceExhausted);
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kStartProcess));
  if (!injected.ok()) return injected;
  const auto program =
      std::find_if(programs_.begin(), programs_.end(), [&](const NamedProgram& p) { return p.path == path; });
  if (program == programs_.end()) return os_error(StatusCode::kNotFound, 2);  // ENOENT

  *slot = Slot();
  slot->used = true;
  slot->id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  slot->storage.assign(output_capacity_, '\0');
  slot->output = port::OutputTail(Span<char>(slot->storage.data(), slot->storage.size()));
  slot->ignores_terminate = program->program.ignores_terminate;
  slot->pipe = program->program.output;
  Started started;
  started.id = slot->id;
  started.path.assign(path.data(), path.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    started.args.emplace_back(args[i].data(), args[i].size());
    if (program->program.echo_args) {
      if (i > 0) slot->pipe += ' ';
      slot->pipe.append(args[i].data(), args[i].size());
    }
  }
  if (program->program.echo_args) slot->pipe += '\n';
  if (!program->program.runs) {
    slot->ended = true;
    slot->ending.state = port::ProcessState::kExited;
    slot->ending.exit_code = program->program.exit_code;
  }
  started_.push_back(std::move(started));
  return slot->id;
}

Result<port::ProcessStatus> FakeSystem::do_poll_process(port::ProcessId id) {
  Slot* slot = find(id);
  if (slot == nullptr) return os_error(StatusCode::kNotFound);
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kPollProcess));
  if (!injected.ok()) return injected;
  slot->output.append(slot->pipe.data(), slot->pipe.size());
  slot->pipe.clear();
  if (slot->ended && slot->status.state == port::ProcessState::kRunning) {
    slot->status.state = slot->ending.state;
    slot->status.exit_code = slot->ending.exit_code;
    slot->status.signal = slot->ending.signal;
  }
  slot->status.output_total = slot->output.total();
  slot->status.output_cut = slot->output.cut();
  return slot->status;
}

Result<std::size_t> FakeSystem::do_read_output(port::ProcessId id, Span<char> out) {
  const Slot* slot = find(id);
  if (slot == nullptr) return os_error(StatusCode::kNotFound);
  return slot->output.copy_tail(out);
}

Status FakeSystem::do_signal_process(port::ProcessId id, port::ProcessSignal signal) {
  Slot* slot = find(id);
  if (slot == nullptr) return os_error(StatusCode::kNotFound);
  const Status injected = failures_.take(static_cast<std::size_t>(Op::kSignalProcess));
  if (!injected.ok()) return injected;
  signals_.push_back(SignalSent{id, signal});
  if (slot->ended) return Status();
  if (signal == port::ProcessSignal::kKill) {
    kill(id, kSigkill);
  } else if (!slot->ignores_terminate) {
    kill(id, kSigterm);
  }
  return Status();
}

Status FakeSystem::do_release_process(port::ProcessId id) {
  Slot* slot = find(id);
  if (slot == nullptr) return os_error(StatusCode::kNotFound);
  if (!slot->ended) signals_.push_back(SignalSent{id, port::ProcessSignal::kKill});
  *slot = Slot();
  ++released_;
  return Status();
}

// --- driving and inspection -----------------------------------------------------------------------

bool FakeSystem::write_output(port::ProcessId id, std::string_view bytes) {
  Slot* slot = find_running(id);
  if (slot == nullptr) return false;
  slot->pipe.append(bytes.data(), bytes.size());
  return true;
}

bool FakeSystem::end(port::ProcessId id, port::ProcessState state, int code) {
  Slot* slot = find_running(id);
  if (slot == nullptr) return false;
  slot->ended = true;
  slot->ending.state = state;
  (state == port::ProcessState::kExited ? slot->ending.exit_code : slot->ending.signal) = code;
  return true;
}

std::size_t FakeSystem::slots_in_use() const {
  return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used; }));
}

std::size_t FakeSystem::running() const {
  return static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used && !s.ended; }));
}

}  // namespace tether::testing
