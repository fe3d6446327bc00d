// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The LogStore conformance suite against PosixLogStore, appending through a mapping and with pwrite,
// and what only the file-based store has: file modes, the lock, torn preallocations, stray files,
// permissions, both append paths giving the same answers, bytes left in the page cache by a
// process that was killed. Every test works in a fresh temporary directory (mkdtemp under $TMPDIR
// or /tmp), removed afterwards.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "log_store_conformance.hpp"
#include "posix_test_files.hpp"
#include "test_support.hpp"
#include "tether/port/posix/posix_log_store.hpp"

using namespace tether;
using port::PosixLogStore;
using port::PosixLogStoreSettings;

namespace {

using conformance::Bytes;
using conformance::contains;
using conformance::EffectiveUid;
using conformance::exists;
using conformance::file_bytes;
using conformance::pattern;
using conformance::read_bytes;
using conformance::stat_of;
using conformance::TempDir;
using conformance::UmaskGuard;
using conformance::view;
using conformance::write_file;

// The suite runs twice: appending through a mapping of the active segment, and with pwrite.
template <bool kUseMmap>
class PosixTarget final : public conformance::LogStoreTarget {
 public:
  port::LogStore& create(std::uint32_t segment_capacity, std::size_t max_segments) override {
    store_.reset();
    settings_ = PosixLogStoreSettings{dir_.path() + "/queue" + std::to_string(++created_), segment_capacity,
                                      max_segments, kUseMmap};
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

using PosixMmapTarget = PosixTarget<true>;
using PosixPwriteTarget = PosixTarget<false>;

// Whether PosixLogStore maps segments in `dir` (the file systems it trusts with a mapping, see
// posix_log_store.hpp): where it does not, the mmap runs test the pwrite path and say so.
bool store_can_map(const std::string& dir) {
#if defined(__linux__)
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  const auto type = static_cast<std::uint32_t>(fs.f_type);
  return type == EXT4_SUPER_MAGIC || type == XFS_SUPER_MAGIC || type == TMPFS_MAGIC;
#else
  (void)dir;
  return false;
#endif
}

void warn_if_not_mapped(const std::string& dir) {
  if (!store_can_map(dir)) {
    WARN("the temporary directory " << dir << " is not on ext2/3/4, XFS or tmpfs (or this is not Linux): "
         "PosixLogStore does not map segments there, so the use_mmap runs test the pwrite path; set TMPDIR "
         "to such a file system to test appends through a mapping");
  }
}

const char* mode_name(bool use_mmap) { return use_mmap ? "use_mmap" : "pwrite"; }

std::string segment_path(const std::string& dir, SegmentId id) {
  char name[16];
  std::snprintf(name, sizeof name, "%08x.seg", static_cast<unsigned>(id));
  return dir + "/" + name;
}

}  // namespace

TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (posix, use_mmap)", PosixMmapTarget)
TETHER_LOG_STORE_CONFORMANCE_TESTS("log store conformance (posix, pwrite)", PosixPwriteTarget)

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
  for (bool use_mmap : {true, false}) {
    CAPTURE(mode_name(use_mmap));
    TempDir tmp;
    const PosixLogStoreSettings settings{tmp.path() + "/queue", 1024, 4, use_mmap};
    {
      PosixLogStore store(settings);
      REQUIRE(store.open() == Status());
      REQUIRE(store.append(view(pattern(10, 2))).ok());
      REQUIRE(store.sync() == Status());
    }
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    CHECK(store.write_position() == 0);
    CHECK_FALSE(store.appends_mapped());  // nothing is mapped before the write position is known
    CHECK(store.append(view(pattern(3, 3))).status().code() == StatusCode::kFailedPrecondition);
    CHECK(contains(store.last_error(), "set_write_position"));
    REQUIRE(store.set_write_position(10) == Status());
    Result<std::uint32_t> offset = store.append(view(pattern(3, 3)));
    REQUIRE(offset.ok());
    CHECK(*offset == 10);
    Bytes expected = pattern(10, 2);
    const Bytes appended = pattern(3, 3);
    expected.insert(expected.end(), appended.begin(), appended.end());
    CHECK(read_bytes(store, 1, 0, 13) == expected);
  }
}

TEST_CASE("posix log store: set_write_position erases stale bytes on disk, not only in the page cache") {
  for (bool use_mmap : {true, false}) {
    CAPTURE(mode_name(use_mmap));
    TempDir tmp;
    const PosixLogStoreSettings settings{tmp.path() + "/queue", 200 * 1024, 2, use_mmap};
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
}

// --- appends through a mapping -------------------------------------------------------------------

TEST_CASE("posix log store: with use_mmap the active segment is mapped once its write position is known, "
          "without it never") {
  TempDir tmp;
  warn_if_not_mapped(tmp.path());
  const bool can_map = store_can_map(tmp.path());
  for (bool use_mmap : {true, false}) {
    CAPTURE(mode_name(use_mmap));
    const bool mapped = use_mmap && can_map;
    const PosixLogStoreSettings settings{tmp.path() + "/" + mode_name(use_mmap), 64 * 1024, 4, use_mmap};
    {
      PosixLogStore store(settings);
      CHECK_FALSE(store.appends_mapped());
      REQUIRE(store.open() == Status());
      CHECK(store.appends_mapped() == mapped);  // a new store: its first segment is empty
      REQUIRE(store.append(view(pattern(100, 1))).ok());
      REQUIRE(store.roll().ok());
      CHECK(store.appends_mapped() == mapped);
      REQUIRE(store.append(view(pattern(200, 2))).ok());
      REQUIRE(store.sync() == Status());
    }
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    CHECK_FALSE(store.appends_mapped());  // the write position is not known yet
    REQUIRE(store.set_write_position(200) == Status());
    CHECK(store.appends_mapped() == mapped);
    CHECK(read_bytes(store, 1, 0, 100) == pattern(100, 1));
    CHECK(read_bytes(store, 2, 0, 200) == pattern(200, 2));
  }
}

TEST_CASE("posix log store: bytes appended and never synced are there for the next store on the directory "
          "(the page cache, what kill -9 leaves)") {
  for (bool use_mmap : {true, false}) {
    CAPTURE(mode_name(use_mmap));
    TempDir tmp;
    warn_if_not_mapped(tmp.path());
    const PosixLogStoreSettings settings{tmp.path() + "/queue", 256 * 1024, 8, use_mmap};
    const Bytes a = pattern(200 * 1024, 1);  // in segment 1, then rolled away from (unmapped)
    const Bytes b = pattern(150 * 1024, 2);  // segment 2, the active one: beyond the released pages
    const Bytes c = pattern(777, 3);
    {
      PosixLogStore store(settings);
      REQUIRE(store.open() == Status());
      REQUIRE(store.append(view(a)).ok());
      REQUIRE(store.roll().ok());
      REQUIRE(store.append(view(b)).ok());
      REQUIRE(store.append(view(c)).ok());
      // Destroyed without sync().
    }
    // The files themselves hold the bytes (read without any store)...
    const Bytes first = file_bytes(segment_path(settings.directory, 1));
    const Bytes second = file_bytes(segment_path(settings.directory, 2));
    REQUIRE(first.size() == settings.segment_bytes);
    REQUIRE(second.size() == settings.segment_bytes);
    CHECK(std::equal(a.begin(), a.end(), first.begin()));
    CHECK(std::equal(b.begin(), b.end(), second.begin()));
    CHECK(std::equal(c.begin(), c.end(), second.begin() + static_cast<std::ptrdiff_t>(b.size())));
    CHECK(std::all_of(second.begin() + static_cast<std::ptrdiff_t>(b.size() + c.size()), second.end(),
                      [](std::uint8_t x) { return x == 0; }));

    // ...and so does a new store over them, which continues after them.
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    REQUIRE(store.segment_count() == 2);
    CHECK(read_bytes(store, 1, 0, a.size()) == a);
    CHECK(read_bytes(store, 2, 0, b.size()) == b);
    const auto end = static_cast<std::uint32_t>(b.size() + c.size());
    REQUIRE(store.set_write_position(end) == Status());
    CHECK(read_bytes(store, 2, static_cast<std::uint32_t>(b.size()), c.size()) == c);
    Result<std::uint32_t> offset = store.append(view(pattern(10, 4)));
    REQUIRE(offset.ok());
    CHECK(*offset == end);
    REQUIRE(store.sync() == Status());
  }
}

namespace {

// Runs one random sequence of calls (seeded) on two stores in `base`, one appending through a
// mapping and one with pwrite, and checks that every call answers the same and that the files end
// up the same.
void run_twins(const std::string& base, std::uint32_t seed) {
  const PosixLogStoreSettings mapped_settings{base + "/mmap", 192 * 1024, 5, true};
  const PosixLogStoreSettings pwrite_settings{base + "/pwrite", 192 * 1024, 5, false};
  auto mapped = std::make_unique<PosixLogStore>(mapped_settings);
  auto written = std::make_unique<PosixLogStore>(pwrite_settings);
  REQUIRE(mapped->open() == Status());
  REQUIRE(written->open() == Status());
  CHECK(mapped->appends_mapped() == store_can_map(base));
  CHECK_FALSE(written->appends_mapped());

  std::mt19937 rng(seed);
  auto below = [&rng](std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng); };
  auto roll_both = [&] {
    const Result<SegmentId> x = mapped->roll();
    const Result<SegmentId> y = written->roll();
    REQUIRE(x.status() == y.status());
    if (x.ok()) REQUIRE(*x == *y);
  };
  unsigned content = 0;
  std::uint32_t highest = 0;  // the furthest write position: the released pages must be reached
  for (int step = 0; step < 1500; ++step) {
    CAPTURE(step);
    const std::uint32_t op = below(100);
    if (op < 70) {
      // Sizes that straddle pages and the 64 KiB release steps; now and then empty, or too big.
      const std::uint32_t size = below(10) == 0 ? below(3) * 40 * 1024 : below(3000);
      const Bytes bytes = pattern(size, ++content);
      const Result<std::uint32_t> x = mapped->append(view(bytes));
      const Result<std::uint32_t> y = written->append(view(bytes));
      REQUIRE(x.status() == y.status());
      if (x.ok()) REQUIRE(*x == *y);
      // A full segment is rolled away from, one time in two (the other appends keep being refused).
      if (x.status().code() == StatusCode::kOutOfRange && below(2) == 0) roll_both();
    } else if (op < 76) {
      REQUIRE(mapped->sync() == written->sync());
    } else if (op < 79) {
      roll_both();
    } else if (op < 83) {
      REQUIRE(mapped->drop_head() == written->drop_head());
    } else if (op < 97) {
      // A read anywhere in any segment: written bytes, erased bytes, across the write position.
      const std::size_t index = below(static_cast<std::uint32_t>(mapped->segment_count()));
      const SegmentId id = mapped->segment_id(index);
      const std::uint32_t offset = below(mapped_settings.segment_bytes + 1);
      Bytes x(below(8000));
      Bytes y(x.size());
      const Result<std::size_t> nx = mapped->read(id, offset, Span<std::uint8_t>(x.data(), x.size()));
      const Result<std::size_t> ny = written->read(id, offset, Span<std::uint8_t>(y.data(), y.size()));
      REQUIRE(nx.status() == ny.status());
      if (nx.ok()) {
        REQUIRE(*nx == *ny);
        REQUIRE(x == y);
      }
    } else {
      // Restart both (nothing synced is lost: the page cache keeps it) and set the write position
      // where it was, or earlier (a torn tail erased).
      const std::uint32_t position = mapped->write_position();
      REQUIRE(position == written->write_position());
      mapped.reset();
      written.reset();
      mapped = std::make_unique<PosixLogStore>(mapped_settings);
      written = std::make_unique<PosixLogStore>(pwrite_settings);
      REQUIRE(mapped->open() == Status());
      REQUIRE(written->open() == Status());
      const std::uint32_t to = below(4) == 0 ? below(position + 1) : position;
      REQUIRE(mapped->set_write_position(to) == written->set_write_position(to));
      CHECK(mapped->appends_mapped() == store_can_map(base));
    }
    REQUIRE(mapped->write_position() == written->write_position());
    highest = std::max(highest, mapped->write_position());
    REQUIRE(mapped->segment_count() == written->segment_count());
    for (std::size_t i = 0; i < mapped->segment_count(); ++i) REQUIRE(mapped->segment_id(i) == written->segment_id(i));
  }
  CHECK(highest >= 160u * 1024u);
  REQUIRE(mapped->sync() == written->sync());
  // The same files, byte for byte.
  for (std::size_t i = 0; i < mapped->segment_count(); ++i) {
    const SegmentId id = mapped->segment_id(i);
    CAPTURE(id);
    CHECK(file_bytes(segment_path(mapped_settings.directory, id)) ==
          file_bytes(segment_path(pwrite_settings.directory, id)));
  }
}

}  // namespace

TEST_CASE("posix log store: appending through a mapping and with pwrite answer every call the same and "
          "leave the same files") {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    TempDir tmp;
    warn_if_not_mapped(tmp.path());
    run_twins(tmp.path(), seed);
  }
}

namespace {

// What the child of the kill -9 test tells its parent after each append() has returned.
struct AppendNote {
  std::uint32_t index;
  SegmentId segment;
  std::uint32_t offset;
  std::uint32_t size;
};
constexpr std::uint32_t kHello = 0xFFFFFFFFu;  // first note: `segment` says whether appends are mapped

std::uint32_t record_size(std::uint32_t index) { return 1 + (index * 389u) % 1500u; }

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// The child: appends `count` records (rolling when one does not fit), never syncs, and after each
// append() has returned writes where it went to `out`. Ends with _exit; exit codes 10+ are failures.
[[noreturn]] void append_and_report(const PosixLogStoreSettings& settings, std::uint32_t count, int out) {
  PosixLogStore store(settings);
  if (!store.open().ok()) ::_exit(10);
  const AppendNote hello{kHello, store.appends_mapped() ? 1u : 0u, 0, 0};
  if (!write_all(out, &hello, sizeof hello)) ::_exit(11);
  for (std::uint32_t i = 0; i < count; ++i) {
    const Bytes bytes = pattern(record_size(i), i);
    Result<std::uint32_t> offset = store.append(view(bytes));
    if (offset.status().code() == StatusCode::kOutOfRange) {
      if (!store.roll().ok()) ::_exit(12);
      offset = store.append(view(bytes));
    }
    if (!offset.ok()) ::_exit(13);
    const AppendNote note{i, store.segment_id(store.segment_count() - 1), *offset, record_size(i)};
    if (!write_all(out, &note, sizeof note)) ::_exit(14);
  }
  ::_exit(0);
}

}  // namespace

TEST_CASE("posix log store: a process killed with SIGKILL loses nothing that append() had returned") {
  const std::uint32_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::uint32_t kRecords = 20000;  // about 15 MiB in segments of 256 KiB
  int run = 0;
  for (bool use_mmap : {true, true, true, false}) {
    ++run;
    CAPTURE(mode_name(use_mmap), run);
    TempDir tmp;
    const PosixLogStoreSettings settings{tmp.path() + "/queue", 256 * 1024, 128, use_mmap};
    // The pipe holds about 4000 notes: killed after at most half the records, the child cannot
    // have finished, so it dies between two appends or in the middle of one.
    const std::uint32_t kill_after = std::uniform_int_distribution<std::uint32_t>(1, kRecords / 2)(rng);
    CAPTURE(kill_after);

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      append_and_report(settings, kRecords, fds[1]);
    }
    ::close(fds[1]);
    std::vector<AppendNote> notes;
    bool mapped = false;
    bool hello = false;
    bool killed = false;
    for (;;) {
      AppendNote note{};
      std::size_t got = 0;
      while (got < sizeof note) {
        const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&note) + got, sizeof note - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
      }
      if (got < sizeof note) break;  // the child is gone and every note is read
      if (note.index == kHello) {
        hello = true;
        mapped = note.segment == 1;
      } else {
        notes.push_back(note);
      }
      if (!killed && notes.size() == kill_after) {
        REQUIRE(::kill(pid, SIGKILL) == 0);
        killed = true;
      }
    }
    ::close(fds[0]);
    int wait_status = 0;
    REQUIRE(::waitpid(pid, &wait_status, 0) == pid);
    INFO("child wait status " << wait_status << " (exit codes 10-14: the child's store failed)");
    REQUIRE(WIFSIGNALED(wait_status));
    REQUIRE(WTERMSIG(wait_status) == SIGKILL);
    REQUIRE(hello);
    if (use_mmap) warn_if_not_mapped(tmp.path());
    CHECK(mapped == (use_mmap && store_can_map(tmp.path())));
    REQUIRE(notes.size() >= kill_after);

    // Every record whose append() had returned is in the files, where append() said.
    PosixLogStore store(settings);
    REQUIRE(store.open() == Status());
    std::size_t intact = 0;
    std::size_t first_damaged = notes.size();
    for (std::size_t i = 0; i < notes.size(); ++i) {
      const AppendNote& note = notes[i];
      REQUIRE(note.index == i);
      Bytes out(note.size);
      const Result<std::size_t> n = store.read(note.segment, note.offset, Span<std::uint8_t>(out.data(), out.size()));
      REQUIRE(n.status() == Status());
      REQUIRE(*n == note.size);
      if (out == pattern(record_size(note.index), note.index)) {
        ++intact;
      } else if (first_damaged == notes.size()) {
        first_damaged = i;
      }
    }
    CAPTURE(notes.size(), first_damaged);
    CHECK(intact == notes.size());
  }
}

TEST_CASE("posix log store: where the segment cannot be mapped, appends fall back to pwrite") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("skipped under a sanitizer: the test limits the address space (RLIMIT_AS) of a child, which the "
       "sanitizer's runtime does not survive");
  return;
#else
  TempDir tmp;
  if (!store_can_map(tmp.path())) {
    warn_if_not_mapped(tmp.path());
    return;
  }
  // A child whose address space has no room for a segment: mmap fails with ENOMEM, as it can in a
  // 32-bit process with large segments.
  constexpr std::uint32_t kSegment = 32u * 1024u * 1024u;
  const PosixLogStoreSettings settings{tmp.path() + "/queue", kSegment, 2, true};
  const int code = conformance::exit_code_in_child([&] {
    long pages = 0;
    if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
      std::fclose(statm);
    }
    if (pages <= 0) return 20;
    const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + 4 * 1024 * 1024;
    const struct rlimit rl {limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) return 21;
    // Where the limit is not enforced (an emulator such as qemu-user), there is nothing to test.
    void* probe = ::mmap(nullptr, kSegment, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe != MAP_FAILED) return 22;
    PosixLogStore store(settings);
    if (!store.open().ok()) return 10;
    if (store.appends_mapped()) return 11;
    const Bytes bytes = pattern(5000, 7);
    const Result<std::uint32_t> offset = store.append(view(bytes));
    if (!offset.ok() || *offset != 0) return 12;
    Bytes back(bytes.size());
    const Result<std::size_t> n = store.read(1, 0, Span<std::uint8_t>(back.data(), back.size()));
    if (!n.ok() || *n != back.size() || back != bytes) return 13;
    if (!store.sync().ok()) return 14;
    return 0;
  });
  if (code == 22) {
    WARN("the address-space limit is not enforced here (an emulator?): the fallback to pwrite when mmap "
         "fails is not tested");
    return;
  }
  INFO("child exit code " << code << " (20/21: could not limit the address space; 10-14: the store failed)");
  REQUIRE(code == 0);
  const Bytes file = file_bytes(segment_path(settings.directory, 1));
  const Bytes bytes = pattern(5000, 7);
  CHECK(std::equal(bytes.begin(), bytes.end(), file.begin()));
#endif
}
