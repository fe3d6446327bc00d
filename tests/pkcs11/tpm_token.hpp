// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// A tpm2-pkcs11 token of its own for one test, backed by a software TPM: in a fresh temporary
// directory, swtpm (its state, on two free local TCP ports) and the tpm2-pkcs11 store
// (`tpm2_ptool init`, `tpm2_ptool addtoken`), a user PIN file (0600). TPM2_PKCS11_STORE,
// TPM2_PKCS11_TCTI and TPM2TOOLS_TCTI are set in the test process's environment (the module reads
// them at C_Initialize); the destructor flushes the TPM's transient objects, stops swtpm and removes
// the directory. Missing peers (swtpm, tpm2_ptool, tpm2_flushcontext, libtpm2_pkcs11.so) fail the
// test and say what to install.
//
// There is no resource manager between the tools and swtpm, and swtpm has 3 transient object
// slots: tpm2_ptool runs tpm2-tools programs that each leave their loaded objects behind (addtoken
// runs out of slots, TPM_RC_OBJECT_MEMORY 0x902). The fixture therefore runs tpm2_ptool with a
// directory of wrappers first on its PATH that run the real tool and then `tpm2_flushcontext -t`:
// what a resource manager does when a client disconnects. The module (in the test process) keeps
// what it loaded for a key it generated or used (2 objects) until C_Finalize and does not flush a
// deleted key's: here one Pkcs11KeyStore holds one key in the TPM at a time, and flush_transient()
// makes room between stores and after a deletion. On a device, /dev/tpmrm0 swaps objects out.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "softhsm_token.hpp"
#include "tether/port/pkcs11/pkcs11_key_store.hpp"

namespace tether::test {

inline constexpr const char* kTpmTokenLabel = "tether-tpm";
inline constexpr const char* kTpmUserPin = "4711-tpm-user";
inline constexpr const char* kTpmSoPin = "0815-tpm-so";

/// tpm2-pkcs11's module, found at configure time; fails the test when it is missing.
std::string tpm2_pkcs11_module_path();

class TpmToken {
 public:
  TpmToken();
  ~TpmToken();
  TpmToken(const TpmToken&) = delete;
  TpmToken& operator=(const TpmToken&) = delete;

  /// Module (libtpm2_pkcs11.so), PIN file and `pkcs11:token=tether-tpm`.
  port::Pkcs11KeyStoreSettings settings() const;
  /// Flushes every transient object from the TPM (`tpm2_flushcontext -t`); fails the test if the
  /// TPM does not answer.
  void flush_transient() const;
  const std::filesystem::path& dir() const { return res_.dir; }
  const std::string& pin_file() const { return pin_file_; }
  /// `swtpm:host=127.0.0.1,port=P`, the TCTI of this token's TPM.
  const std::string& tcti() const { return tcti_; }

 private:
  // The directory and swtpm, given back also when the constructor fails half way.
  struct Resources {
    std::filesystem::path dir;
    pid_t swtpm_pid = -1;
    Resources() = default;
    Resources(const Resources&) = delete;
    Resources& operator=(const Resources&) = delete;
    ~Resources();
  };

  bool start_swtpm(int port);
  void write_tool_wrappers() const;
  void run_ptool(const std::vector<std::string>& args) const;

  Resources res_;
  std::string pin_file_;
  std::string tcti_;
};

}  // namespace tether::test
