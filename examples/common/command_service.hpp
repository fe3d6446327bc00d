// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The command side of an example agent on Linux, as examples/command-agent and
// examples/linux-agent (tether-agent) run it: one inbox journaled in a PosixKvStore directory, fed
// by AWS IoT Jobs and Commands (profile "aws") or the neutral cmd/<thing> pattern, the built-in
// operations the `commands` section enables (reboot, set-config, run) and, when asked for, the
// `rotate-certificate` operation (tether::identity::CertificateRotation). Header-only, for the
// examples (not part of the SDK's API).
//
// Use: open() after the LinuxAgent exists, register the program's own operations on inbox(), then
// start() before agent.start(). Destroy it before the agent.

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "example_support.hpp"
#include "tether/commands/builtins.hpp"
#include "tether/commands/command_adapter.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/commands/jobs_adapter.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/posix/posix_system.hpp"
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
#include "tether/port/identity/certificate_rotation.hpp"
#include "tether/port/pkcs11/tls_key.hpp"
#endif

namespace tether::examples {

/// How the command side runs (the program's options).
struct CommandServiceOptions {
  std::string config_path;        ///< the file set-config rewrites
  std::string journal_dir;        ///< the journal's PosixKvStore directory
  std::string reboot_command;     ///< what `reboot` runs (absolute path); empty: exit 75
  std::vector<std::string> reboot_args;
  std::string rotation_template;  ///< non-empty: offer rotate-certificate with this template
  std::string certificate_dir;    ///< where rotated certificates go (empty: the config's directory)
  /// Profile "aws": take AWS IoT Commands besides Jobs (three more subscriptions of the agent's
  /// TETHER_MAX_SUBSCRIPTIONS). The neutral profile always takes cmd/<thing>.
  bool aws_commands = true;
};

/// Takes argv[i] when it is one of the command side's options, with its value argv[i + 1] (i is
/// moved past it): --reboot-command /PATH, --reboot-arg ARG, --rotation-template NAME,
/// --certificate-dir /DIR. False when argv[i] is none of them or its value is missing or bad.
/// (--reboot-arg without --reboot-command is the caller's to refuse.)
inline bool take_command_option(int argc, char** argv, int& i, CommandServiceOptions& o) {
  const char* arg = argv[i];
  const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
  if (value == nullptr) return false;
  if (std::strcmp(arg, "--reboot-command") == 0 && value[0] == '/') {
    o.reboot_command = value;
  } else if (std::strcmp(arg, "--reboot-arg") == 0) {
    o.reboot_args.emplace_back(value);
  } else if (std::strcmp(arg, "--rotation-template") == 0 && *value != '\0') {
    o.rotation_template = value;
  } else if (std::strcmp(arg, "--certificate-dir") == 0 && value[0] == '/') {
    o.certificate_dir = value;
  } else {
    return false;
  }
  ++i;
  return true;
}

/// The command line of an agent with a command side: CONFIG.json, --state-dir DIR, --duration S
/// and the command options (take_command_option).
struct AgentCommandLine {
  const char* config = nullptr;
  RunOptions run;
  CommandServiceOptions commands;
};

/// Parses argv into `o`; `flag` (when not null) is one more option without a value, `*flag_set`
/// true when given. False for an unknown option, a bad value, no CONFIG or two of them, or
/// --reboot-arg without --reboot-command.
inline bool parse_agent_command_line(int argc, char** argv, AgentCommandLine* o, const char* flag = nullptr,
                                     bool* flag_set = nullptr) {
  for (int i = 1; i < argc; ++i) {
    if (flag != nullptr && std::strcmp(argv[i], flag) == 0) {
      *flag_set = true;
      continue;
    }
    const int taken = take_run_option(argc, argv, i, o->run);
    if (taken < 0) return false;
    if (taken > 0 || take_command_option(argc, argv, i, o->commands)) continue;
    if (argv[i][0] == '-' || o->config != nullptr) return false;
    o->config = argv[i];
  }
  return o->config != nullptr && (o->commands.reboot_args.empty() || !o->commands.reboot_command.empty());
}

#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
/// The `rotate-certificate` operation: a new key in the token, its certificate through Fleet
/// Provisioning over the current connection, a test connection, then the switch
/// (tether::identity::CertificateRotation); on any failure the current identity stays. Prints
/// `ROTATED certificate=<id>` or `ROTATION FAILED <why>` on stdout.
class Rotator {
 public:
  Rotator(identity::CertificateRotation& rotation, commands::Inbox& inbox) : rotation_(rotation), inbox_(inbox) {
    rotation_.set_done_handler([this](Status result) { on_done(result); });
  }

  void on_command(const commands::CommandContext& c) {
    if (rotation_.running()) {
      inbox_.reject(c.execution, "BUSY", "a certificate rotation is already running").ignore();
      return;
    }
    if (!rotation_.start().ok()) {
      inbox_.fail(c.execution, "ROTATION_FAILED", rotation_.last_error()).ignore();
      return;
    }
    execution_ = c.execution;
    inbox_.progress(execution_, R"({"step":"requesting a certificate"})").ignore();
  }

 private:
  void on_done(Status result) {
    if (result.ok()) {
      const std::string details = "{\"certificateId\":\"" + rotation_.outcome().certificate_id + "\"}";
      say("ROTATED certificate=%s", rotation_.outcome().certificate_id.c_str());
      inbox_.succeed(execution_, details).ignore();
    } else {
      say("ROTATION FAILED %s", rotation_.last_error());
      inbox_.fail(execution_, "ROTATION_FAILED", rotation_.last_error()).ignore();
    }
  }

  identity::CertificateRotation& rotation_;
  commands::Inbox& inbox_;
  commands::Execution execution_;
};
#endif

class CommandService {
 public:
  // set-config reads the current file and builds the new one in this much memory: four times the
  // largest configuration file it accepts (16 KB).
  static constexpr std::size_t kConfigWorkspace = 4 * 16 * 1024;

  CommandService() = default;
  CommandService(const CommandService&) = delete;
  CommandService& operator=(const CommandService&) = delete;
  ~CommandService() {
    // The inbox before its adapters and the rotation it feeds.
    builtins_.reset();
    inbox_.reset();
  }

  /// Opens the journal and builds the inbox, its adapters, the built-ins and (with
  /// options.rotation_template) rotate-certificate. Returns 0, or the exit code after printing
  /// why: 1 (the configuration does not allow it), 2 (the journal or a capacity).
  int open(const char* program, LinuxAgent& device, const AgentConfig& config, CommandServiceOptions options) {
    options_ = std::move(options);
    port::PosixKvStoreSettings store_settings;
    store_settings.directory = options_.journal_dir;
    journal_ = std::make_unique<port::PosixKvStore>(store_settings);
    if (const int error = open_kv_store(program, "the command journal", *journal_); error != 0) return error;

    port::PosixSystemSettings system_settings;
    system_settings.config_path = options_.config_path;
    if (!options_.reboot_command.empty()) {
      system_settings.reboot = port::PosixSystem::run_reboot_command(options_.reboot_command, options_.reboot_args);
    }
    system_ = std::make_unique<port::PosixSystem>(std::move(system_settings));

    Agent& agent = device.agent;
    if (config.profile == TopicProfile::kAws) {
      jobs_ = std::make_unique<commands::JobsAdapter>(commands::JobsAdapterSettings{}, port::random_seed());
    }
    if (config.profile != TopicProfile::kAws || options_.aws_commands) {
      commands_ = std::make_unique<commands::CommandAdapter>(config.profile);
    }
    inbox_ = std::make_unique<commands::Inbox>(agent, journal_.get(), commands::inbox_settings(config.commands));
    workspace_.resize(config.commands.set_config ? kConfigWorkspace : 0);
    commands::BuiltinsSettings builtins_settings;
    builtins_settings.config_workspace = Span<char>(workspace_.data(), workspace_.size());
    builtins_settings.reboot_delay = std::chrono::seconds(1);  // lets IN_PROGRESS reach the service first
    builtins_ = std::make_unique<commands::Builtins>(*inbox_, *system_, config.commands, builtins_settings);

    for (commands::Adapter* adapter :
         {static_cast<commands::Adapter*>(jobs_.get()), static_cast<commands::Adapter*>(commands_.get())}) {
      if (adapter == nullptr) continue;
      if (!inbox_->add_adapter(*adapter).ok()) {
        tell(LOG_ERR,
            "%s: no room for the %s adapter (TETHER_COMMANDS_MAX_ADAPTERS)\n", program,
            commands::to_string(adapter->source()));
        return 2;
      }
      sources_ += sources_.empty() ? "" : ",";
      sources_ += commands::to_string(adapter->source());
    }
    if (config.commands.reboot) add_operation("reboot");
    if (config.commands.set_config) add_operation("set-config");
    if (config.commands.run_count > 0) add_operation("run");
    if (options_.rotation_template.empty()) return 0;
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
    return open_rotation(program, device, config);
#else
    tell(LOG_ERR,
        "%s: certificate rotation: built without tether::port_identity (needs the pkcs11, "
        "openssl and paho ports)\n", program);
    return 1;
#endif
  }

  /// The inbox, to register the program's own operations on (add_operation() names them).
  commands::Inbox& inbox() { return *inbox_; }
  void add_operation(const char* name) {
    operations_ += operations_.empty() ? "" : ",";
    operations_ += name;
  }

  /// Starts the built-ins and the inbox. Returns 0, or 2 after printing why.
  int start(const char* program) {
    ErrorText error;
    if (!builtins_->start(&error).ok()) {
      tell(LOG_ERR, "%s: the built-in operations did not start: %s\n", program, error.c_str());
      return 2;
    }
    if (!inbox_->start(&error).ok()) {
      tell(LOG_ERR, "%s: the command inbox did not start: %s\n", program, error.c_str());
      return 2;
    }
    return 0;
  }

  /// "reboot,set-config,run,..." and "jobs,commands": what is offered and where from.
  const std::string& operations() const { return operations_; }
  const std::string& sources() const { return sources_; }

  /// The inbox's counters as one log line.
  void log_stats(Logger& logger) const {
    const commands::InboxStats& st = inbox_->stats();
    TETHER_LOG_INFO(logger, Origin::kApp,
                    "commands: %u delivered: %u started, %u rejected, %u succeeded, %u failed, %u expired",
                    static_cast<unsigned>(st.delivered), static_cast<unsigned>(st.started),
                    static_cast<unsigned>(st.rejected), static_cast<unsigned>(st.succeeded),
                    static_cast<unsigned>(st.failed), static_cast<unsigned>(st.expired));
  }

 private:
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
  int open_rotation(const char* program, LinuxAgent& device, const AgentConfig& config) {
    if (!config.pkcs11.enabled) {
      tell(LOG_ERR,
          "%s: certificate rotation needs the \"pkcs11\" section in %s (the new key is made in the "
          "token)\n", program, options_.config_path.c_str());
      return 1;
    }
    identity::RotationSettings rs;
    const port::Pkcs11TlsKeySettings tls = port::pkcs11_tls_settings(config, "");
    rs.token = tls.token;
    rs.provider_module = tls.provider_module;
    rs.template_name = options_.rotation_template;
    rs.config_path = options_.config_path;
    const std::size_t slash = options_.config_path.rfind('/');
    rs.certificate_dir = !options_.certificate_dir.empty() ? options_.certificate_dir
                         : slash == std::string::npos       ? std::string(".")
                                                            : options_.config_path.substr(0, slash);
    rs.runtime_dir = private_runtime_dir(program);
    if (rs.runtime_dir.empty()) return 2;
    rotation_ = std::make_unique<identity::CertificateRotation>(device.agent, device.mqtt, std::move(rs), &device.log);
    if (!rotation_->attach().ok()) {
      tell(LOG_ERR, "%s: no room for the certificate rotation (TETHER_MAX_COMPONENTS)\n", program);
      return 2;
    }
    rotator_ = std::make_unique<Rotator>(*rotation_, *inbox_);
    if (!inbox_->on_command("rotate-certificate", [r = rotator_.get()](const commands::CommandContext& c) {
                  r->on_command(c);
                }).ok()) {
      tell(LOG_ERR, "%s: no room for the rotate-certificate operation (TETHER_COMMANDS_MAX_OPERATIONS)\n", program);
      return 2;
    }
    add_operation("rotate-certificate");
    return 0;
  }
#endif

  CommandServiceOptions options_;
  std::unique_ptr<port::PosixKvStore> journal_;
  std::unique_ptr<port::PosixSystem> system_;
  std::unique_ptr<commands::JobsAdapter> jobs_;
  std::unique_ptr<commands::CommandAdapter> commands_;
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
  std::unique_ptr<identity::CertificateRotation> rotation_;
  std::unique_ptr<Rotator> rotator_;
#endif
  std::unique_ptr<commands::Inbox> inbox_;
  std::vector<char> workspace_;
  std::unique_ptr<commands::Builtins> builtins_;
  std::string operations_;
  std::string sources_;
};

}  // namespace tether::examples
