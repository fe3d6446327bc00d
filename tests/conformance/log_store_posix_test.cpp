// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The LogStore conformance suite against PosixLogStore, and what only the file-based store has:
// file modes, the lock, torn preallocations, stray files, permissions. Every test works in a fresh
// temporary directory (mkdtemp under $TMPDIR or /tmp), removed afterwards.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "log_store_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/posix/posix_log_store.hpp"

using namespace tether;
using port::PosixLogStore;
using port::PosixLogStoreSettings;

namespace {

int make_writable(const char* path, const struct stat* st, int type, FTW*) {
  if (type == FTW_D || type == FTW_DNR) ::chmod(path, (st->st_mode & 07777) | S_IRWXU);
  return 0;
}
int remove_entry(const char* path, const struct stat*, int, FTW*) {
  ::remove(path);
  return 0;  // keep going: remove what can be removed
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    if (base == nullptr || *base == '\0') base = "/tmp";
    std::string name = std::string(base) + "/tether-log-store-XXXXXX";
    std::vector<char> buf(name.begin(), name.end());
    buf.push_back('\0');
    REQUIRE(::mkdtemp(buf.data()) != nullptr);
    path_ = buf.data();
  }
  ~TempDir() {
    // Tests may leave directories read-only: make them writable first (pre-order), then remove.
    ::nftw(path_.c_str(), make_writable, 16, FTW_PHYS);
    ::nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class PosixTarget final : public conformance::LogStoreTarget {
 public:
  port::LogStore& create(std::uint32_t segment_capacity, std::size_t max_segments) override {
    store_.reset();
    settings_ = PosixLogStoreSettings{dir_.path() + "/queue" + std::to_string(++created_), segment_capacity,
                                      max_segments};
    store_ = std::make_unique<PosixLogStore>(settings_);
    return *store_;
  }
  port::LogStore& reopen() override {
    store_.reset();  // releases the lock, as a process that ends does
    store_ = std::make_unique<PosixLogStore>(settings_);
    return *store_;
  }
  std::uint8_t erased_value() const override { return 0x00; }

 private:
  TempDir dir_;
  int created_ = 0;
  PosixLogStoreSettings settings_;
  std::unique_ptr<PosixLogStore> store_;
};

using Bytes = std::vector<std::uint8_t>;

Bytes pattern(std::size_t size, unsigned seed) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(1 + (seed * 31 + i * 7) % 254);
  return bytes;
}

Span<const std::uint8_t> view(const Bytes& bytes) { return Span<const std::uint8_t>(bytes.data(), bytes.size()); }

Bytes read_bytes(const port::LogStore& store, SegmentId id, std::uint32_t offset, std::size_t size) {
  Bytes out(size);
  Result<std::size_t> n = store.read(id, offset, Span<std::uint8_t>(out.data(), out.size()));
  REQUIRE(n.status() == Status());
  REQUIRE(*n == size);
  return out;
}

bool contains(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

// Writes a file of `size` bytes of `fill`, as a crash or another program could have left it.
void write_file(const std::string& path, std::size_t size, std::uint8_t fill) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::vector<std::uint8_t> bytes(size, fill);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : previous_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(previous_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t previous_;
};

// Runs as `uid` (effective) for its lifetime; only root can do this, and gets root back.
class EffectiveUid {
 public:
  explicit EffectiveUid(uid_t uid) : ok_(::seteuid(uid) == 0) {}
  ~EffectiveUid() {
    if (ok_ && ::seteuid(0) != 0) std::abort();  // the rest of the run would not be root
  }
  EffectiveUid(const EffectiveUid&) = delete;
  EffectiveUid& operator=(const EffectiveUid&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace

TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (posix)", PosixTarget)

TEST_CASE("posix log store: segment files are 0600 and a directory it creates is 0700, whatever the umask") {
  for (mode_t mask : {mode_t{0000}, mode_t{0277}}) {
    CAPTURE(mask);
    TempDir tmp;
    const std::string dir = tmp.path() + "/queue";
    {
      UmaskGuard guard(mask);
      PosixLogStore store(PosixLogStoreSettings{dir, 4096, 4});
      REQUIRE(store.open() == Status());
      REQUIRE(store.roll().ok());
    }
    const struct stat d = stat_of(dir);
    CHECK(S_ISDIR(d.st_mode));
    CHECK((d.st_mode & 07777) == 0700);
    for (const char* name : {"00000001.seg", "00000002.seg"}) {
      CAPTURE(name);
      const struct stat f = stat_of(dir + "/" + name);
      CHECK(S_ISREG(f.st_mode));
      CHECK((f.st_mode & 07777) == 0600);
      CHECK(f.st_size == 4096);
    }
    CHECK(exists(dir + "/lock"));
  }
}

TEST_CASE("posix log store: a second store on the same directory is refused while the first is open") {
  TempDir tmp;
  const PosixLogStoreSettings settings{tmp.path() + "/queue", 4096, 4};
  auto first = std::make_unique<PosixLogStore>(settings);
  REQUIRE(first->open() == Status());

  PosixLogStore second(settings);
  CHECK(second.open() == Status(StatusCode::kFailedPrecondition, Origin::kStore, EWOULDBLOCK));
  CHECK(contains(second.last_error(), "in use"));
  CHECK(contains(second.last_error(), "lock"));
  CHECK(second.segment_count() == 0);

  first.reset();
  CHECK(second.open() == Status());
  CHECK(second.segment_count() == 1);
}

TEST_CASE("posix log store: a newest segment of the wrong size that holds nothing is removed at open") {
  for (std::size_t torn_size : {std::size_t{0}, std::size_t{100}}) {
    CAPTURE(torn_size);
    TempDir tmp;
    const PosixLogStoreSettings settings{tmp.path() + "/queue", 1024, 4};
    const Bytes b = pattern(30, 1);
    {
      PosixLogStore store(settings);
      REQUIRE(store.open() == Status());
      REQUIRE(store.roll().ok());
      REQUIRE(store.append(view(b)).ok());
      REQUIRE(store.sync() == Status());
    }
    // Power was cut while roll() preallocated segment 3.
    const std::string torn = settings.directory + "/00000003.seg";
    write_file(torn, torn_size, 0x00);

    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.segment_count() == 2);
    CHECK(store.segment_id(0) == 1);
    CHECK(store.segment_id(1) == 2);
    CHECK_FALSE(exists(torn));
    REQUIRE(store.set_write_position(30) == Status());
    CHECK(read_bytes(store, 2, 0, 30) == b);
    Result<SegmentId> next = store.roll();
    REQUIRE(next.ok());
    CHECK(*next == 3);
    CHECK(stat_of(torn).st_size == 1024);
  }
}

TEST_CASE("posix log store: a segment of the wrong size that may hold data makes open fail with data loss") {
  TempDir tmp;
  const PosixLogStoreSettings settings{tmp.path() + "/queue", 1024, 4};
  {
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.roll().ok());
  }
  SECTION("the newest segment, not all zeros") {
    const std::string odd = settings.directory + "/00000003.seg";
    write_file(odd, 100, 0x41);
    PosixLogStore store(settings);
    CHECK(store.open() == Status(StatusCode::kDataLoss, Origin::kStore));
    CHECK(contains(store.last_error(), "00000003.seg"));
    CHECK(exists(odd));  // kept for whoever investigates
  }
  SECTION("an older segment") {
    REQUIRE(::truncate((settings.directory + "/00000001.seg").c_str(), 512) == 0);
    PosixLogStore store(settings);
    CHECK(store.open() == Status(StatusCode::kDataLoss, Origin::kStore));
    CHECK(contains(store.last_error(), "00000001.seg"));
    CHECK(contains(store.last_error(), "512"));
  }
  SECTION("segment_bytes changed since the store was made") {
    PosixLogStore store(PosixLogStoreSettings{settings.directory, 2048, 4});
    CHECK(store.open() == Status(StatusCode::kDataLoss, Origin::kStore));
    CHECK(contains(store.last_error(), "00000001.seg"));
    CHECK(exists(settings.directory + "/00000002.seg"));
  }
}

TEST_CASE("posix log store: files that are not segments are ignored") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/queue";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  for (const char* name : {"notes.txt", "1.seg", "0000000G.seg", "0000000A.seg", "00000001.seg.tmp", "000000001.seg"}) {
    write_file(dir + "/" + name, 7, 0x41);
  }
  REQUIRE(::mkdir((dir + "/sub").c_str(), 0700) == 0);
  PosixLogStore store(PosixLogStoreSettings{dir, 1024, 4});
  REQUIRE(store.open() == Status());
  CHECK(store.segment_count() == 1);
  CHECK(store.segment_id(0) == 1);
  CHECK(exists(dir + "/notes.txt"));
  CHECK(stat_of(dir + "/00000001.seg").st_size == 1024);
}

TEST_CASE("posix log store: a read-only directory makes open fail with permission denied") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/queue";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0500) == 0);
  PosixLogStore store(PosixLogStoreSettings{dir, 1024, 4});

  if (::geteuid() != 0) {
    CHECK(store.open() == Status(StatusCode::kPermissionDenied, Origin::kStore, EACCES));
    CHECK(contains(store.last_error(), "lock"));
    return;
  }
  // Root ignores permissions. Check as "nobody" owning the read-only directory if root may
  // switch its effective uid; otherwise only that open() works and say why loudly.
  const passwd* nobody = ::getpwnam("nobody");
  bool checked = false;
  if (nobody != nullptr && ::chmod(tmp.path().c_str(), 0711) == 0 &&
      ::chown(dir.c_str(), nobody->pw_uid, nobody->pw_gid) == 0) {
    EffectiveUid as_nobody(nobody->pw_uid);
    if (as_nobody.ok()) {
      CHECK(store.open() == Status(StatusCode::kPermissionDenied, Origin::kStore, EACCES));
      CHECK(contains(store.last_error(), "lock"));
      checked = true;
    }
  }
  if (!checked) {
    WARN("running as root and cannot switch to user nobody: root ignores directory permissions, so only "
         "checking that open() on a read-only directory succeeds; run the tests as a normal user to check "
         "kPermissionDenied");
    CHECK(store.open() == Status());
  }
}

TEST_CASE("posix log store: a missing parent directory is reported, not created") {
  TempDir tmp;
  PosixLogStore store(PosixLogStoreSettings{tmp.path() + "/missing/queue", 1024, 4});
  CHECK(store.open() == Status(StatusCode::kUnavailable, Origin::kStore, ENOENT));
  CHECK(contains(store.last_error(), "missing/queue"));
  CHECK_FALSE(exists(tmp.path() + "/missing"));
}

TEST_CASE("posix log store: bad settings make open fail with invalid argument") {
  TempDir tmp;
  CHECK(PosixLogStore(PosixLogStoreSettings{"", 1024, 4}).open().code() == StatusCode::kInvalidArgument);
  CHECK(PosixLogStore(PosixLogStoreSettings{tmp.path() + "/q", 0, 4}).open().code() == StatusCode::kInvalidArgument);
  CHECK(PosixLogStore(PosixLogStoreSettings{tmp.path() + "/q", 1024, 0}).open().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("posix log store: after reopening, append is refused until set_write_position") {
  TempDir tmp;
  const PosixLogStoreSettings settings{tmp.path() + "/queue", 1024, 4};
  {
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.append(view(pattern(10, 2))).ok());
    REQUIRE(store.sync() == Status());
  }
  PosixLogStore store(settings);
  REQUIRE(store.open() == Status());
  CHECK(store.write_position() == 0);
  CHECK(store.append(view(pattern(3, 3))).status().code() == StatusCode::kFailedPrecondition);
  CHECK(contains(store.last_error(), "set_write_position"));
  REQUIRE(store.set_write_position(10) == Status());
  Result<std::uint32_t> offset = store.append(view(pattern(3, 3)));
  REQUIRE(offset.ok());
  CHECK(*offset == 10);
}

TEST_CASE("posix log store: set_write_position erases stale bytes on disk, not only in the page cache") {
  TempDir tmp;
  const PosixLogStoreSettings settings{tmp.path() + "/queue", 200 * 1024, 2};
  {
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.append(view(pattern(100 * 1024, 4))).ok());  // ends before the last 64 KiB chunk, spans two
    REQUIRE(store.sync() == Status());
  }
  {
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.set_write_position(1000) == Status());
  }
  // Read the file itself.
  const int fd = ::open((settings.directory + "/00000001.seg").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::vector<std::uint8_t> file(settings.segment_bytes);
  REQUIRE(::pread(fd, file.data(), file.size(), 0) == static_cast<ssize_t>(file.size()));
  ::close(fd);
  const Bytes written = pattern(100 * 1024, 4);
  CHECK(std::equal(file.begin(), file.begin() + 1000, written.begin()));
  std::size_t non_zero = 0;
  for (std::size_t i = 1000; i < file.size(); ++i) non_zero += file[i] != 0 ? 1 : 0;
  CHECK(non_zero == 0);
}
