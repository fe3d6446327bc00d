// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Contract checks for caller bugs (a null pointer where the contract forbids one, a value read from
/// a failed Result). Bad *input* from outside is never a contract violation: it is a Status.
///
/// A violation calls the installed handler. The default handler writes the location with
/// fprintf(stderr) and calls abort(); on bare metal that goes wherever the C library's stderr and
/// abort go (newlib: the _write and _exit syscalls), so firmware usually installs its own handler. Tests install a counting handler that returns, so the code after a
/// check must stay safe when the handler returns (every check is followed by a defensive fallback).
///
/// Define `TETHER_CONTRACTS_DISABLED` to compile the checks out (the fallbacks stay).

namespace tether {

/// Called on a contract violation with the failed expression and its location.
using ContractHandler = void (*)(const char* expression, const char* file, int line);

/// Installs `handler` (nullptr restores the default) and returns the previous one.
ContractHandler set_contract_handler(ContractHandler handler);

namespace detail {
void contract_violated(const char* expression, const char* file, int line);
}  // namespace detail

}  // namespace tether

#if defined(TETHER_CONTRACTS_DISABLED)
#define TETHER_EXPECTS(cond) static_cast<void>(0)
#else
#define TETHER_EXPECTS(cond) \
  ((cond) ? static_cast<void>(0) : ::tether::detail::contract_violated(#cond, __FILE__, __LINE__))
#endif
