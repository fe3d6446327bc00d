// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The KvStore conformance suite against PosixKvStore, and what only the file-based store has: the
// file layout and modes, the lock, leftovers of interrupted puts, damaged files, permissions and a
// full medium. Every test works in a fresh temporary directory (mkdtemp under $TMPDIR or /tmp),
// removed afterwards.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "kv_store_conformance.hpp"
#include "posix_test_files.hpp"
#include "test_support.hpp"
#include "tether/crc32c.hpp"
#include "tether/port/posix/posix_kv_store.hpp"

using namespace tether;
using port::PosixKvStore;
using port::PosixKvStoreSettings;

namespace {

using conformance::all_equal;
using conformance::Bytes;
using conformance::contains;
using conformance::EffectiveUid;
using conformance::exists;
using conformance::file_bytes;
using conformance::get_bytes;
using conformance::pattern;
using conformance::stat_of;
using conformance::TempDir;
using conformance::UmaskGuard;
using conformance::view;
using conformance::write_file;

// Reopen = the object is destroyed (its lock released, as when a process ends) and a new one opens
// the same directory.
class PosixTarget final : public conformance::KvStoreTarget {
 public:
  port::KvStore& create(std::size_t max_value_size) override {
    settings_ = PosixKvStoreSettings{dir_.path() + "/kv" + std::to_string(++created_), max_value_size};
    return open_new();
  }
  port::KvStore& reopen() override { return open_new(); }

 private:
  port::KvStore& open_new() {
    store_.reset();
    store_ = std::make_unique<PosixKvStore>(settings_);
    REQUIRE(store_->open() == Status());
    return *store_;
  }

  TempDir dir_{"tether-kv-store"};
  int created_ = 0;
  PosixKvStoreSettings settings_;
  std::unique_ptr<PosixKvStore> store_;
};

Status store_status(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kStore, detail); }

// A store in `<tmp>/kv`, opened.
struct OpenStore {
  explicit OpenStore(std::size_t max_value_size = 65536)
      : dir(tmp.path() + "/kv"), store(std::make_unique<PosixKvStore>(PosixKvStoreSettings{dir, max_value_size})) {
    REQUIRE(store->open() == Status());
  }
  std::string path(const char* name) const { return dir + "/" + name; }
  // A new object over the same directory, as after a restart.
  void reopen() {
    store.reset();
    store = std::make_unique<PosixKvStore>(PosixKvStoreSettings{dir, 65536});
    REQUIRE(store->open() == Status());
  }
  Status get_status(std::string_view key) {
    Bytes out(128 * 1024);
    return store->get(key, Span<std::uint8_t>(out.data(), out.size())).status();
  }

  TempDir tmp{"tether-kv-store"};
  std::string dir;
  std::unique_ptr<PosixKvStore> store;
};

std::uint32_t le32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// Every call that reads `key` fails with data loss, and last_error() names its file and `why`.
void check_damaged(OpenStore& s, const char* key, const char* why) {
  INFO("key " << key << ", expecting " << why);
  const std::string file = std::string(key) + ".kv";
  Bytes out(4096);
  CHECK(s.store->get(key, Span<std::uint8_t>(out.data(), out.size())).status() == store_status(StatusCode::kDataLoss));
  CHECK(contains(s.store->last_error(), file.c_str()));
  CHECK(contains(s.store->last_error(), why));
  CHECK(s.store->size(key).status() == store_status(StatusCode::kDataLoss));
  CHECK(contains(s.store->last_error(), file.c_str()));
}

}  // namespace

TETHER_KV_STORE_CONFORMANCE_TESTS("kv store conformance (posix)", PosixTarget)

TEST_CASE("posix kv store: a value file is the documented 16-byte header followed by the value") {
  OpenStore s;
  const Bytes value = pattern(300, 1);
  REQUIRE(s.store->put("shadow", view(value)) == Status());
  const Bytes file = file_bytes(s.path("shadow.kv"));
  REQUIRE(file.size() == 16 + value.size());
  CHECK(Bytes(file.begin(), file.begin() + 4) == Bytes{'T', 'K', 'V', 'S'});
  CHECK(file[4] == 1);  // format version 1, little-endian
  CHECK(file[5] == 0);
  CHECK(file[6] == 0);  // flags
  CHECK(file[7] == 0);
  CHECK(le32(file, 8) == 300);
  CHECK(le32(file, 12) == crc32c(view(value)));
  CHECK(Bytes(file.begin() + 16, file.end()) == value);
}

TEST_CASE("posix kv store: value files are 0600, a directory it creates is 0700, and no temporary file stays") {
  for (mode_t mask : {mode_t{0000}, mode_t{0277}}) {
    CAPTURE(mask);
    TempDir tmp("tether-kv-store");
    const std::string dir = tmp.path() + "/kv";
    {
      UmaskGuard guard(mask);
      PosixKvStore store(PosixKvStoreSettings{dir});
      REQUIRE(store.open() == Status());
      REQUIRE(store.put("a", view(pattern(10, 1))) == Status());
      REQUIRE(store.put("a", view(pattern(20, 2))) == Status());
      REQUIRE(store.put("b", view(pattern(5, 3))) == Status());
      REQUIRE(store.remove("b") == Status());
    }
    const struct stat d = stat_of(dir);
    CHECK(S_ISDIR(d.st_mode));
    CHECK((d.st_mode & 07777) == 0700);
    const struct stat f = stat_of(dir + "/a.kv");
    CHECK(S_ISREG(f.st_mode));
    CHECK((f.st_mode & 07777) == 0600);
    CHECK(exists(dir + "/lock"));
    for (const char* gone : {"a.kv.tmp", "a.kv.old", "b.kv", "b.kv.tmp", "b.kv.old"}) {
      CAPTURE(gone);
      CHECK_FALSE(exists(dir + "/" + gone));
    }
  }
}

TEST_CASE("posix kv store: a second store on the same directory is refused while the first is open") {
  OpenStore s;
  PosixKvStore second(PosixKvStoreSettings{s.dir});
  CHECK(second.open() == store_status(StatusCode::kFailedPrecondition, EWOULDBLOCK));
  CHECK(contains(second.last_error(), "in use"));
  CHECK(second.put("a", view(pattern(1, 1))).code() == StatusCode::kFailedPrecondition);
  s.store.reset();
  CHECK(second.open() == Status());
  CHECK(second.open().code() == StatusCode::kFailedPrecondition);  // open already
}

TEST_CASE("posix kv store: every call before open fails with failed precondition") {
  TempDir tmp("tether-kv-store");
  PosixKvStore store(PosixKvStoreSettings{tmp.path() + "/kv"});
  std::uint8_t buf[4];
  const Status not_open = store_status(StatusCode::kFailedPrecondition);
  CHECK(store.get("a", Span<std::uint8_t>(buf, sizeof buf)).status() == not_open);
  CHECK(store.size("a").status() == not_open);
  CHECK(store.put("a", Span<const std::uint8_t>()) == not_open);
  CHECK(store.remove("a") == not_open);
  CHECK(contains(store.last_error(), "before open"));
  CHECK_FALSE(exists(tmp.path() + "/kv"));
  CHECK(store.max_value_size() == 65536);  // the default setting
  CHECK(PosixKvStore(PosixKvStoreSettings{tmp.path() + "/kv", 1234}).max_value_size() == 1234);
}

TEST_CASE("posix kv store: bad settings and a missing parent directory make open fail") {
  TempDir tmp("tether-kv-store");
  CHECK(PosixKvStore(PosixKvStoreSettings{""}).open() == store_status(StatusCode::kInvalidArgument));
  if (sizeof(std::size_t) > 4) {
    const auto too_big = static_cast<std::size_t>(UINT32_MAX) + 1;
    CHECK(PosixKvStore(PosixKvStoreSettings{tmp.path() + "/kv", too_big}).open().code() ==
          StatusCode::kInvalidArgument);
  }
  PosixKvStore store(PosixKvStoreSettings{tmp.path() + "/missing/kv"});
  CHECK(store.open() == store_status(StatusCode::kUnavailable, ENOENT));
  CHECK(contains(store.last_error(), "missing/kv"));
  CHECK_FALSE(exists(tmp.path() + "/missing"));
}

TEST_CASE("posix kv store: leftovers of an interrupted put are ignored and removed at open, other files kept") {
  OpenStore s;
  REQUIRE(s.store->put("shadow", view(pattern(40, 1))) == Status());
  // A complete new value that a power cut stopped before its rename, and one before its fsync.
  OpenStore other;
  REQUIRE(other.store->put("shadow", view(pattern(50, 2))) == Status());
  write_file(s.path("shadow.kv.tmp"), file_bytes(other.path("shadow.kv")));
  write_file(s.path("journal.kv.tmp"), 7, 0x00);
  // The second name a put keeps of the old value until the new one is durable.
  write_file(s.path("shadow.kv.old"), file_bytes(s.path("shadow.kv")));
  // Not the store's: an invalid key, another suffix.
  write_file(s.path("Notes.kv.tmp"), 3, 0x41);
  write_file(s.path("notes.txt"), 3, 0x41);

  // The running store never reads them.
  CHECK(get_bytes(*s.store, "shadow") == pattern(40, 1));
  CHECK(s.store->size("journal").status() == store_status(StatusCode::kNotFound));

  s.reopen();
  CHECK(get_bytes(*s.store, "shadow") == pattern(40, 1));
  CHECK(s.store->size("journal").status() == store_status(StatusCode::kNotFound));
  CHECK_FALSE(exists(s.path("shadow.kv.tmp")));
  CHECK_FALSE(exists(s.path("journal.kv.tmp")));
  CHECK_FALSE(exists(s.path("shadow.kv.old")));
  CHECK(exists(s.path("Notes.kv.tmp")));
  CHECK(exists(s.path("notes.txt")));
  // And the key can be put again.
  REQUIRE(s.store->put("shadow", view(pattern(60, 3))) == Status());
  CHECK(get_bytes(*s.store, "shadow") == pattern(60, 3));
}

TEST_CASE("posix kv store: a truncated value file is data loss naming the file") {
  OpenStore s;
  REQUIRE(s.store->put("cut", view(pattern(100, 1))) == Status());
  REQUIRE(s.store->put("short", view(pattern(100, 1))) == Status());
  REQUIRE(s.store->put("none", view(pattern(100, 1))) == Status());
  REQUIRE(::truncate(s.path("cut.kv").c_str(), 16 + 99) == 0);
  REQUIRE(::truncate(s.path("short.kv").c_str(), 10) == 0);
  REQUIRE(::truncate(s.path("none.kv").c_str(), 0) == 0);
  check_damaged(s, "cut", "truncated");
  check_damaged(s, "short", "truncated");
  check_damaged(s, "none", "truncated");
  // Bytes appended after the value are damage too.
  REQUIRE(s.store->put("long", view(pattern(10, 1))) == Status());
  Bytes longer = file_bytes(s.path("long.kv"));
  longer.push_back(0x55);
  write_file(s.path("long.kv"), longer);
  check_damaged(s, "long", "too long");
}

TEST_CASE("posix kv store: a flipped byte anywhere in a value file is data loss naming the file") {
  OpenStore s;
  const Bytes value = pattern(64, 1);
  REQUIRE(s.store->put("k", view(value)) == Status());
  const Bytes good = file_bytes(s.path("k.kv"));
  struct Damage {
    std::size_t offset;
    const char* why;
  };
  for (const Damage& d : {Damage{16, "checksum"}, Damage{16 + 63, "checksum"}, Damage{12, "checksum"},
                          Damage{8, "truncated"}, Damage{9, "truncated"}, Damage{4, "version"},
                          Damage{6, "flags"}, Damage{0, "magic"}}) {
    CAPTURE(d.offset);
    Bytes bad = good;
    bad[d.offset] ^= 0x01;
    write_file(s.path("k.kv"), bad);
    check_damaged(s, "k", d.why);
  }
  // Putting the key again heals it.
  REQUIRE(s.store->put("k", view(value)) == Status());
  CHECK(get_bytes(*s.store, "k") == value);
}

TEST_CASE("posix kv store: a file with a wrong magic is data loss, and get zeroes what it read of a damaged value") {
  OpenStore s;
  REQUIRE(s.store->put("k", view(pattern(32, 1))) == Status());
  write_file(s.path("k.kv"), Bytes(16 + 32, 0x41));
  check_damaged(s, "k", "magic");

  REQUIRE(s.store->put("k", view(pattern(32, 1))) == Status());
  Bytes bad = file_bytes(s.path("k.kv"));
  bad[20] ^= 0x80;
  write_file(s.path("k.kv"), bad);
  Bytes out(32, 0xEE);
  CHECK(s.store->get("k", Span<std::uint8_t>(out.data(), out.size())).status() == store_status(StatusCode::kDataLoss));
  CHECK(all_equal(out, 0x00));
}

TEST_CASE("posix kv store: a directory entry that is not a regular file is data loss, a symbolic link unavailable") {
  OpenStore s;
  REQUIRE(::mkdir(s.path("dir.kv").c_str(), 0700) == 0);
  check_damaged(s, "dir", "not a regular file");
  REQUIRE(s.store->put("target", view(pattern(4, 1))) == Status());
  REQUIRE(::symlink("target.kv", s.path("link.kv").c_str()) == 0);
  CHECK(s.get_status("link") == store_status(StatusCode::kUnavailable, ELOOP));
  CHECK(contains(s.store->last_error(), "link.kv"));
}

TEST_CASE("posix kv store: files it may not read or write give permission denied (EACCES)") {
  OpenStore s;
  REQUIRE(s.store->put("k", view(pattern(8, 1))) == Status());
  const Status denied = store_status(StatusCode::kPermissionDenied, EACCES);
  auto check_denied = [&] {
    CHECK(s.get_status("k") == denied);
    CHECK(contains(s.store->last_error(), "k.kv"));
    CHECK(s.store->put("k", view(pattern(9, 2))) == denied);
    CHECK(contains(s.store->last_error(), "k.kv.tmp"));
    CHECK(s.store->put("new", view(pattern(9, 2))) == denied);
    CHECK(s.store->remove("k") == denied);
  };
  REQUIRE(::chmod(s.path("k.kv").c_str(), 0000) == 0);
  REQUIRE(::chmod(s.dir.c_str(), 0500) == 0);
  bool checked = false;
  if (::geteuid() != 0) {
    check_denied();
    checked = true;
  } else {
    // Root ignores permissions: check as "nobody" owning the read-only directory (the value file
    // stays root's, mode 0000) if root may switch its effective uid.
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody != nullptr && ::chmod(s.tmp.path().c_str(), 0711) == 0 &&
        ::chown(s.dir.c_str(), nobody->pw_uid, nobody->pw_gid) == 0) {
      EffectiveUid as_nobody(nobody->pw_uid);
      if (as_nobody.ok()) {
        check_denied();
        checked = true;
      }
    }
  }
  if (!checked) {
    WARN("running as root and cannot switch to user nobody: root ignores file permissions, so "
         "kPermissionDenied is not checked; run the tests as a normal user to check it");
  }
  // Nothing was changed by the refused calls.
  REQUIRE(::chmod(s.dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(s.path("k.kv").c_str(), 0600) == 0);
  CHECK(get_bytes(*s.store, "k") == pattern(8, 1));
  CHECK_FALSE(exists(s.path("k.kv.tmp")));
  CHECK_FALSE(exists(s.path("new.kv")));
}

#if defined(__linux__)
namespace {

// In a child process: a private mount namespace (as root, or as the owner of a new user namespace)
// with a tmpfs of `size_kib` mounted on `dir`. Returns false if this system does not allow that.
bool mount_small_tmpfs(const std::string& dir, int size_kib) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (uid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) return false;
  } else {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    char map[64];
    auto write_proc = [](const char* path, const char* text) {
      FILE* f = std::fopen(path, "w");
      if (f == nullptr) return false;
      const bool ok = std::fputs(text, f) >= 0;
      return std::fclose(f) == 0 && ok;
    };
    std::snprintf(map, sizeof map, "0 %u 1", static_cast<unsigned>(uid));
    if (!write_proc("/proc/self/setgroups", "deny") || !write_proc("/proc/self/uid_map", map)) return false;
    std::snprintf(map, sizeof map, "0 %u 1", static_cast<unsigned>(gid));
    if (!write_proc("/proc/self/gid_map", map)) return false;
  }
  // Keep the mount to this namespace (the parent's mounts may be shared).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  const std::string options = "size=" + std::to_string(size_kib) + "k,mode=0700";
  return ::mount("tether-kv", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
}

}  // namespace

TEST_CASE("posix kv store: a put on a full medium fails with ENOSPC and keeps the old value") {
  TempDir tmp("tether-kv-store");
  const std::string dir = tmp.path() + "/kv";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  const int code = conformance::exit_code_in_child([&] {
    if (!mount_small_tmpfs(dir, 64)) return 20;
    PosixKvStore store(PosixKvStoreSettings{dir, 1024 * 1024});
    if (!store.open().ok()) return 10;
    const Bytes small = pattern(1000, 1);
    if (!store.put("k", view(small)).ok()) return 11;
    const Bytes big = pattern(256 * 1024, 2);
    if (store.put("k", view(big)) != store_status(StatusCode::kResourceExhausted, ENOSPC)) return 12;
    if (!contains(store.last_error(), "k.kv.tmp")) return 13;
    if (store.put("other", view(big)) != store_status(StatusCode::kResourceExhausted, ENOSPC)) return 14;
    Bytes out(small.size());
    const Result<std::size_t> n = store.get("k", Span<std::uint8_t>(out.data(), out.size()));
    if (!n.ok() || *n != small.size() || out != small) return 15;
    if (exists(dir + "/k.kv.tmp") || exists(dir + "/other.kv.tmp") || exists(dir + "/other.kv")) return 16;
    if (!store.remove("k").ok()) return 17;  // removing needs no space
    return 0;
  });
  if (code == 20) {
    WARN("SKIPPED: cannot mount a small tmpfs in a private mount namespace here (needs root, or unprivileged "
         "user namespaces): the full-medium test of PosixKvStore did not run");
    return;
  }
  INFO("child exit code " << code << " (10-17: the store answered wrongly, see the test)");
  CHECK(code == 0);
}
#endif
