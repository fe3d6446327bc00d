// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// A SoftHSM2 token of its own for one test: softhsm2.conf and the token directory in a fresh
// temporary directory (SOFTHSM2_CONF points there), a user PIN file (0600), removed again at the
// end. Shared by the pkcs11 port tests and the TLS-with-a-token-key integration tests. Missing
// peers (softhsm2-util, pkcs11-tool, libsofthsm2.so) fail the test and say what to install.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tether/port/pkcs11/pkcs11_key_store.hpp"

namespace tether::test {

inline constexpr const char* kTokenLabel = "tether-test";
inline constexpr const char* kUserPin = "4711-user";
inline constexpr const char* kSoPin = "0815-so";

struct ProcessResult {
  int exit_code = -1;
  std::string output;
};

/// Runs a program without a shell (args[0] is its path); stdout and stderr are captured.
ProcessResult run_program(const std::vector<std::string>& args);

/// SoftHSM2's module, found at configure time; fails the test when it is missing.
std::string softhsm_module_path();

class SoftHsmToken {
 public:
  SoftHsmToken();
  ~SoftHsmToken();
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  static void write_pin_file(const std::string& path, const std::string& pin, mode_t mode);

  /// Module, PIN file and `pkcs11:token=tether-test`.
  port::Pkcs11KeyStoreSettings settings() const;
  /// settings() with another PIN file (`name` in the token's directory, holding `pin`, with `mode`).
  port::Pkcs11KeyStoreSettings settings_with_pin_file(const std::string& name, const std::string& pin,
                                                      mode_t mode) const;
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& pin_file() const { return pin_file_; }

  /// pkcs11-tool's "Access:" flags of the private key labelled `label` (e.g. "sensitive, always
  /// sensitive, never extractable, local").
  std::vector<std::string> private_key_access(const std::string& label) const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path conf_;
  std::string pin_file_;
};

}  // namespace tether::test
