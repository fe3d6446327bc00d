// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The offline queue of an example agent on Linux, as examples/offline-agent and
// examples/linux-agent (tether-agent) open it from the `offline_queue` section: one PosixLogStore
// per stream in `<directory>/<stream name>/`, what a previous run left recovered, and encryption
// at rest under `key_file` for streams that set `encrypt` (with tether::port_openssl where the
// example links it, else tether::port_mbedtls). Header-only,
// for the examples (not part of the SDK's API). Destroy it before the agent.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "example_support.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/posix/posix_log_store.hpp"
#if TETHER_EXAMPLE_HAVE_OPENSSL
#include "tether/port/openssl/openssl_crypto.hpp"
#elif TETHER_EXAMPLE_HAVE_MBEDTLS
#include "tether/port/mbedtls/mbed_crypto.hpp"
#endif

namespace tether::examples {

/// Reads the queue key: a regular file of exactly 32 bytes that only its owner can read. Returns
/// false with `why` set otherwise (the key itself is never printed).
inline bool read_key_file(const char* path, std::uint8_t (&key)[32], std::string* why) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *why = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (!ok) {
    *why = std::string("cannot stat: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    ok = false;
  } else if ((st.st_mode & 077) != 0) {
    *why = "readable or writable by others than its owner (chmod 600 it)";
    ok = false;
  } else if (st.st_size != 32) {
    *why = "must hold exactly 32 bytes, holds " + std::to_string(static_cast<long long>(st.st_size));
    ok = false;
  } else if (::read(fd, key, sizeof key) != static_cast<ssize_t>(sizeof key)) {
    *why = "short read";
    ok = false;
  }
  ::close(fd);
  return ok;
}

/// A boot id is part of every message id: random per process start, never 0.
inline std::uint32_t make_boot_id() {
  for (;;) {
    const std::uint64_t r = port::random_seed();
    const auto id = static_cast<std::uint32_t>(r ^ (r >> 32));
    if (id != 0) return id;
  }
}

class OfflineService {
 public:
  OfflineService() = default;
  OfflineService(const OfflineService&) = delete;
  OfflineService& operator=(const OfflineService&) = delete;

  /// Creates the queue's directory if needed (0700), opens and recovers every stream of
  /// `config.offline_queue` (which must be enabled) and prints `<program>: boot id <8 hex>` to
  /// stderr. Returns 0, or the exit code after printing why: 1 (the key file), 2 (a directory or
  /// a stream that cannot be opened or recovered).
  int open(const char* program, const char* config_path, const AgentConfig& config, Agent& agent) {
    const OfflineQueueConfig& qc = config.offline_queue;
    config_ = &qc;
    // PosixLogStore creates one level; create the queue's own directory here if it is missing.
    const std::string root = qc.directory.c_str();
    if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
      tell(LOG_ERR, "%s: %s: cannot create the queue directory: %s\n", program, root.c_str(), std::strerror(errno));
      return 2;
    }
    for (std::size_t i = 0; i < qc.stream_count; ++i) {
      port::PosixLogStoreSettings ss;
      ss.directory = root + "/" + qc.streams[i].name.c_str();
      ss.segment_bytes = qc.streams[i].segment_bytes;
      ss.max_segments = qc.streams[i].max_segments;
      stores_[i].emplace(ss);
    }
    QueueSettings queue_settings = qc.queue;
    queue_settings.boot_id = make_boot_id();
    tell(LOG_INFO, "%s: boot id %08" PRIx32 "\n", program, queue_settings.boot_id);
    queue_ = std::make_unique<OfflineQueue>(agent, queue_settings);
    bool encrypting = false;
    for (std::size_t i = 0; i < qc.stream_count; ++i) encrypting = encrypting || qc.streams[i].settings.encrypt;
    if (encrypting) {
#if TETHER_EXAMPLE_HAVE_OPENSSL || TETHER_EXAMPLE_HAVE_MBEDTLS
      // Encryption at rest: one key for the queue, a key per stream derived from it.
#if TETHER_EXAMPLE_HAVE_OPENSSL
      static openssl::OpenSslCrypto crypto;  // OpenSSL is in the process anyway (the Paho port's TLS)
#else
      static mbedtls::MbedCrypto crypto;  // 38 KB of mbedTLS state: not on the stack
#endif
      std::uint8_t key[32];
      std::string why;
      if (!read_key_file(qc.key_file.c_str(), key, &why)) {
        tell(LOG_ERR,
            "%s: %s: offline_queue.key_file %s: %s\n", program, config_path, qc.key_file.c_str(),
            why.c_str());
        return 1;
      }
      const Status keyed = queue_->set_encryption(crypto, Span<const std::uint8_t>(key, sizeof key));
      tether::detail::secure_zero(Span<std::uint8_t>(key, sizeof key));
      if (!keyed.ok()) return 1;
#else
      tell(LOG_ERR,
          "%s: %s: a stream sets \"encrypt\" but this build has neither tether::port_openssl nor "
          "tether::port_mbedtls\n", program,
          config_path);
      return 1;
#endif
    }
    for (std::size_t i = 0; i < qc.stream_count; ++i) {
      const Result<StreamId> id = queue_->add_stream(qc.streams[i].stream_settings(), *stores_[i]);
      if (!id.ok()) {
        char status[64];
        tell(LOG_ERR,
            "%s: stream \"%s\": cannot open or recover %s: %s (%s)\n", program,
            qc.streams[i].name.c_str(), stores_[i]->settings().directory.c_str(),
            format_status(id.status(), status, sizeof status), stores_[i]->last_error());
        return 2;
      }
    }
    return 0;
  }

  OfflineQueue& queue() { return *queue_; }

  /// Every stream's counters, one line each, on stderr.
  void print_stats(const char* program) const {
    for (std::size_t i = 0; i < queue_->stream_count(); ++i) {
      const StreamStats& s = queue_->stats(static_cast<StreamId>(i));
      tell(LOG_INFO,
          "%s: stream \"%s\": enqueued %" PRIu64 ", sent %" PRIu64 " (resent %" PRIu64
          "), delivered %" PRIu64 ", pending %" PRIu64 ", rejected %" PRIu64 ", dropped %" PRIu64
          " overflow / %" PRIu64 " pressure / %" PRIu64 " expired / %" PRIu64 " refused / %" PRIu64
          " store error, syncs %" PRIu64 " (failed %" PRIu64 "), recovered %" PRIu64 ", torn bytes %" PRIu64
          ", damaged regions %" PRIu64 " (%" PRIu64 " bytes), %u segment(s), %" PRIu64 " bytes stored\n",
          program, config_->streams[i].name.c_str(), s.enqueued, s.sent, s.resent, s.delivered,
          s.pending_records, s.rejected, s.dropped_overflow, s.dropped_pressure, s.dropped_expired,
          s.dropped_refused, s.dropped_store_error, s.syncs, s.sync_failures, s.recovered_records,
          s.torn_bytes, s.corrupt_regions, s.corrupt_bytes, static_cast<unsigned>(s.segments),
          s.stored_bytes);
    }
  }

 private:
  const OfflineQueueConfig* config_ = nullptr;
  std::optional<port::PosixLogStore> stores_[kMaxStreams];
  std::unique_ptr<OfflineQueue> queue_;  // destroyed before the stores it writes
};

}  // namespace tether::examples
