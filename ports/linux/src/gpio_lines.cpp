// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// GpioLines over libgpiod: API 1 (libgpiod 1.x: Debian 12, Raspberry Pi OS bookworm) or API 2
// (libgpiod 2.x: Debian 13), chosen when Tether is configured (TETHER_GPIOD_API); none without it.
// libgpiod 1.x is loaded when lines are first opened (dlopen), not linked: a program whose
// configuration has no gpio section does not map it (tether-agent: 36 kB less resident memory).
// libgpiod 2.x is linked.

#include "tether/port/linux/gpio_lines.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#if defined(TETHER_GPIOD_API)
#include <gpiod.h>
#endif
#if defined(TETHER_GPIOD_API) && TETHER_GPIOD_API == 1
#include <dlfcn.h>
#endif

namespace tether::port {
namespace {

Status os_error(StatusCode code, int err) {
  return Status(code, Origin::kOs, static_cast<std::uint16_t>(err < 0 ? 0 : (err > 0xFFFF ? 0xFFFF : err)));
}

// The status for an errno from opening a chip or requesting a line.
StatusCode code_for(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return StatusCode::kNotFound;
    case EACCES:
    case EPERM:
      return StatusCode::kPermissionDenied;
    case EBUSY:
      return StatusCode::kUnavailable;
    case EINVAL:
    case EOPNOTSUPP:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kUnknown;
  }
}

// What a user should do about an errno.
const char* advice(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
      return " (the user needs read and write access to the device: on Raspberry Pi OS the gpio group)";
    case EOPNOTSUPP:
      return " (the chip's driver cannot do this setting)";
    default:
      return "";
  }
}

// "gpio.outputs[0] \"led\" (line 27)" in error texts.
std::string describe_line(const GpioConfig& config, std::size_t index, std::uint32_t offset, bool resolved) {
  const GpioLineConfig& line = config.lines[index];
  std::string text = std::string("gpio.") + (line.direction == GpioDirection::kInput ? "inputs[" : "outputs[") +
                     std::to_string(config.position(index)) + "] \"" + line.name.c_str() + "\" (line ";
  if (line.by_name()) {
    text += std::string("\"") + line.line_name.c_str() + "\"";
    if (resolved) text += ", offset " + std::to_string(offset);
  } else {
    text += std::to_string(offset);
  }
  return text + ")";
}

// The device paths to try for `chip`: a path as given, "gpiochipN" under /dev, else every
// /dev/gpiochip* (the chip is then found by its label).
std::vector<std::string> candidate_paths(const std::string& chip, bool* by_label) {
  *by_label = false;
  if (!chip.empty() && chip[0] == '/') return {chip};
  if (chip.rfind("gpiochip", 0) == 0) return {"/dev/" + chip};
  *by_label = true;
  std::vector<std::string> paths;
  if (DIR* dir = ::opendir("/dev")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (std::strncmp(entry->d_name, "gpiochip", 8) == 0) paths.push_back(std::string("/dev/") + entry->d_name);
    }
    ::closedir(dir);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

#if defined(TETHER_GPIOD_API) && TETHER_GPIOD_API == 1
// The soname and its Debian package, from the library found at configure time (CMakeLists.txt).
#ifndef TETHER_LIBGPIOD_SONAME
#define TETHER_LIBGPIOD_SONAME "libgpiod.so.2"
#endif
#ifndef TETHER_LIBGPIOD_PACKAGE
#define TETHER_LIBGPIOD_PACKAGE "libgpiod2"
#endif

// Every libgpiod 1.x function this file calls, resolved together when the library is loaded. The
// header declares them: each pointer has the type of the function it stands for.
#define TETHER_GPIOD_FUNCTIONS(X)                                                                    \
  X(gpiod_chip_open) X(gpiod_chip_close) X(gpiod_chip_label) X(gpiod_chip_name) X(gpiod_chip_num_lines) \
  X(gpiod_chip_find_line) X(gpiod_chip_get_line) X(gpiod_line_offset) X(gpiod_line_consumer)            \
  X(gpiod_line_request_input_flags) X(gpiod_line_request_output_flags) X(gpiod_line_get_value)          \
  X(gpiod_line_set_value) X(gpiod_line_release) X(gpiod_version_string)

struct Gpiod {
#define TETHER_GPIOD_POINTER(name) decltype(&::name) name = nullptr;
  TETHER_GPIOD_FUNCTIONS(TETHER_GPIOD_POINTER)
#undef TETHER_GPIOD_POINTER
  std::string error;  // empty once every function is resolved
};

Gpiod load_gpiod() {
  Gpiod lib;
  void* handle = dlopen(TETHER_LIBGPIOD_SONAME, RTLD_NOW | RTLD_LOCAL);  // never closed
  if (handle == nullptr) {
    const char* why = dlerror();
    lib.error = std::string("gpio: cannot load " TETHER_LIBGPIOD_SONAME " (") + (why != nullptr ? why : "not found") +
                "): GPIO lines need the package " TETHER_LIBGPIOD_PACKAGE;
    return lib;
  }
#define TETHER_GPIOD_RESOLVE(name)                                                                             \
  if (lib.error.empty()) {                                                                                     \
    lib.name = reinterpret_cast<decltype(lib.name)>(dlsym(handle, #name));                                     \
    if (lib.name == nullptr) lib.error = "gpio: " TETHER_LIBGPIOD_SONAME " has no " #name " (not libgpiod 1.x?)"; \
  }
  TETHER_GPIOD_FUNCTIONS(TETHER_GPIOD_RESOLVE)
#undef TETHER_GPIOD_RESOLVE
  return lib;
}

/// libgpiod, loaded on the first call (thread-safe); its error is set when it could not be.
const Gpiod& gpiod() {
  static const Gpiod lib = load_gpiod();
  return lib;
}
#define TETHER_GPIOD(name) gpiod().name  // only after gpiod().error was found empty (open())
#elif defined(TETHER_GPIOD_API)
#define TETHER_GPIOD(name) ::name
#endif

#if defined(TETHER_GPIOD_API)
// gpiod_chip_open() is the same in both APIs: the chip at `path`, or null and *err = errno.
gpiod_chip* open_chip(const std::string& path, int* err) {
  errno = 0;
  gpiod_chip* chip = TETHER_GPIOD(gpiod_chip_open)(path.c_str());
  *err = chip == nullptr ? (errno != 0 ? errno : ENODEV) : 0;
  return chip;
}
#endif

}  // namespace

#if defined(TETHER_GPIOD_API) && TETHER_GPIOD_API == 1

// ---- libgpiod 1.x: one gpiod_line per configured line ---------------------------------------

struct GpioLines::Impl {
  gpiod_chip* chip = nullptr;
  std::vector<gpiod_line*> lines;
  std::vector<std::uint32_t> offsets;
  std::vector<GpioDirection> directions;
  std::string description;

  ~Impl() { close(); }
  void close() {
    for (gpiod_line* line : lines) {
      if (line != nullptr) TETHER_GPIOD(gpiod_line_release)(line);
    }
    lines.clear();
    if (chip != nullptr) TETHER_GPIOD(gpiod_chip_close)(chip);
    chip = nullptr;
  }

  static gpiod_chip* open_path(const std::string& path, int* err) { return open_chip(path, err); }
  static std::string label(gpiod_chip* chip) { return TETHER_GPIOD(gpiod_chip_label)(chip); }
  static std::string name(gpiod_chip* chip) { return TETHER_GPIOD(gpiod_chip_name)(chip); }
  static unsigned num_lines(gpiod_chip* chip) { return TETHER_GPIOD(gpiod_chip_num_lines)(chip); }

  int find_line(const char* line_name) {
    gpiod_line* line = TETHER_GPIOD(gpiod_chip_find_line)(chip, line_name);
    return line == nullptr ? -1 : static_cast<int>(TETHER_GPIOD(gpiod_line_offset)(line));
  }
  std::string consumer_of(std::uint32_t offset) {
    gpiod_line* line = TETHER_GPIOD(gpiod_chip_get_line)(chip, offset);
    const char* who = line != nullptr ? TETHER_GPIOD(gpiod_line_consumer)(line) : nullptr;
    return who != nullptr ? who : "";
  }

  int request(const GpioConfig& config, const char* consumer, std::size_t* failed) {
    for (std::size_t i = 0; i < config.line_count; ++i) {
      const GpioLineConfig& c = config.lines[i];
      gpiod_line* line = TETHER_GPIOD(gpiod_chip_get_line)(chip, offsets[i]);
      int flags = c.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
      switch (c.bias) {
        case GpioBias::kAsIs: break;
        case GpioBias::kDisabled: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
        case GpioBias::kPullUp: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
        case GpioBias::kPullDown: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
      }
      errno = 0;
      const int rc = line == nullptr ? -1
                     : c.direction == GpioDirection::kInput
                         ? TETHER_GPIOD(gpiod_line_request_input_flags)(line, consumer, flags)
                         : TETHER_GPIOD(gpiod_line_request_output_flags)(line, consumer, flags, c.initial ? 1 : 0);
      if (rc != 0) {
        *failed = i;
        return errno != 0 ? errno : EIO;
      }
      lines.push_back(line);
    }
    return 0;
  }

  int get(std::size_t index, bool* value) {
    errno = 0;
    const int v = TETHER_GPIOD(gpiod_line_get_value)(lines[index]);
    if (v < 0) return errno != 0 ? errno : EIO;
    *value = v != 0;
    return 0;
  }
  int set(std::size_t index, bool value) {
    errno = 0;
    return TETHER_GPIOD(gpiod_line_set_value)(lines[index], value ? 1 : 0) == 0 ? 0 : (errno != 0 ? errno : EIO);
  }
};

std::string GpioLines::library_version() {
  const Gpiod& lib = gpiod();
  return lib.error.empty() ? std::string("libgpiod ") + lib.gpiod_version_string() : "no libgpiod (" + lib.error + ")";
}

#elif defined(TETHER_GPIOD_API) && TETHER_GPIOD_API == 2

// ---- libgpiod 2.x: one request holding every configured line --------------------------------

struct GpioLines::Impl {
  gpiod_chip* chip = nullptr;
  std::vector<gpiod_line_request*> lines;  // one request per line, in configuration order
  std::vector<std::uint32_t> offsets;
  std::vector<GpioDirection> directions;
  std::string description;

  ~Impl() { close(); }
  void close() {
    for (gpiod_line_request* r : lines) gpiod_line_request_release(r);
    lines.clear();
    if (chip != nullptr) gpiod_chip_close(chip);
    chip = nullptr;
  }

  static gpiod_chip* open_path(const std::string& path, int* err) { return open_chip(path, err); }
  template <typename Get>
  static auto with_info(gpiod_chip* chip, Get get) {
    gpiod_chip_info* info = gpiod_chip_get_info(chip);
    auto value = get(info);
    if (info != nullptr) gpiod_chip_info_free(info);
    return value;
  }
  static std::string label(gpiod_chip* chip) {
    return with_info(chip, [](gpiod_chip_info* i) { return std::string(i != nullptr ? gpiod_chip_info_get_label(i) : ""); });
  }
  static std::string name(gpiod_chip* chip) {
    return with_info(chip, [](gpiod_chip_info* i) { return std::string(i != nullptr ? gpiod_chip_info_get_name(i) : ""); });
  }
  static unsigned num_lines(gpiod_chip* chip) {
    return with_info(chip, [](gpiod_chip_info* i) {
      return i != nullptr ? static_cast<unsigned>(gpiod_chip_info_get_num_lines(i)) : 0U;
    });
  }

  int find_line(const char* line_name) { return gpiod_chip_get_line_offset_from_name(chip, line_name); }
  std::string consumer_of(std::uint32_t offset) {
    gpiod_line_info* info = gpiod_chip_get_line_info(chip, offset);
    if (info == nullptr) return "";
    const char* who = gpiod_line_info_get_consumer(info);
    std::string text = who != nullptr ? who : "";
    gpiod_line_info_free(info);
    return text;
  }

  int request(const GpioConfig& config, const char* consumer, std::size_t* failed) {
    for (std::size_t i = 0; i < config.line_count; ++i) {
      const GpioLineConfig& c = config.lines[i];
      gpiod_line_settings* settings = gpiod_line_settings_new();
      gpiod_line_config* line_config = gpiod_line_config_new();
      gpiod_request_config* request_config = gpiod_request_config_new();
      int err = ENOMEM;
      gpiod_line_request* r = nullptr;
      if (settings != nullptr && line_config != nullptr && request_config != nullptr) {
        gpiod_line_settings_set_active_low(settings, c.active_low);
        if (c.direction == GpioDirection::kInput) {
          gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_INPUT);
          static constexpr gpiod_line_bias kBias[] = {GPIOD_LINE_BIAS_AS_IS, GPIOD_LINE_BIAS_DISABLED,
                                                      GPIOD_LINE_BIAS_PULL_UP, GPIOD_LINE_BIAS_PULL_DOWN};
          gpiod_line_settings_set_bias(settings, kBias[static_cast<int>(c.bias)]);
        } else {
          gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT);
          gpiod_line_settings_set_output_value(settings,
                                               c.initial ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
        }
        const unsigned int offset = offsets[i];
        gpiod_request_config_set_consumer(request_config, consumer);
        errno = 0;
        if (gpiod_line_config_add_line_settings(line_config, &offset, 1, settings) == 0) {
          r = gpiod_chip_request_lines(chip, request_config, line_config);
        }
        err = r != nullptr ? 0 : (errno != 0 ? errno : EIO);
      }
      gpiod_request_config_free(request_config);
      gpiod_line_config_free(line_config);
      gpiod_line_settings_free(settings);
      if (err != 0) {
        *failed = i;
        return err;
      }
      lines.push_back(r);
    }
    return 0;
  }

  int get(std::size_t index, bool* value) {
    errno = 0;
    const gpiod_line_value v = gpiod_line_request_get_value(lines[index], offsets[index]);
    if (v == GPIOD_LINE_VALUE_ERROR) return errno != 0 ? errno : EIO;
    *value = v == GPIOD_LINE_VALUE_ACTIVE;
    return 0;
  }
  int set(std::size_t index, bool value) {
    errno = 0;
    const int rc = gpiod_line_request_set_value(lines[index], offsets[index],
                                                value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
    return rc == 0 ? 0 : (errno != 0 ? errno : EIO);
  }
};

std::string GpioLines::library_version() { return std::string("libgpiod ") + gpiod_api_version(); }

#else

// ---- no libgpiod ---------------------------------------------------------------------------

struct GpioLines::Impl {
  std::vector<std::uint32_t> offsets;
  std::vector<GpioDirection> directions;
  std::string description;
  void close() {}
  int get(std::size_t, bool*) { return ENOSYS; }
  int set(std::size_t, bool) { return ENOSYS; }
};

std::string GpioLines::library_version() { return "no libgpiod"; }

#endif

GpioLines::GpioLines() : impl_(std::make_unique<Impl>()) {}
GpioLines::~GpioLines() = default;

bool GpioLines::available() {
#if defined(TETHER_GPIOD_API)
  return true;
#else
  return false;
#endif
}

bool GpioLines::is_open() const { return !impl_->offsets.empty() || !impl_->description.empty(); }

void GpioLines::close() {
  impl_->close();
  impl_->offsets.clear();
  impl_->directions.clear();
  impl_->description.clear();
}

const std::string& GpioLines::chip_description() const { return impl_->description; }

std::uint32_t GpioLines::offset(std::size_t index) const {
  return index < impl_->offsets.size() ? impl_->offsets[index] : 0;
}

Status GpioLines::open(const GpioConfig& config, const char* consumer, ErrorText* error) {
  if (is_open()) {
    set_error_text(error, "gpio: the lines are open already");
    return Status(StatusCode::kFailedPrecondition, Origin::kOs);
  }
#if !defined(TETHER_GPIOD_API)
  (void)config;
  (void)consumer;
  set_error_text(error, "gpio: this build has no GPIO support: Tether was configured without libgpiod "
                        "(install libgpiod-dev and build again)");
  return Status(StatusCode::kUnimplemented, Origin::kOs);
#else
#if TETHER_GPIOD_API == 1
  if (const std::string& why = gpiod().error; !why.empty()) {
    set_error_text(error, "%s", why.c_str());
    return Status(StatusCode::kUnavailable, Origin::kOs);
  }
#endif
  Impl& s = *impl_;
  const std::string chip(config.chip.c_str());
  bool by_label = false;
  int err = ENOENT;
  std::string tried;
  const std::vector<std::string> paths = candidate_paths(chip, &by_label);
  for (const std::string& path : paths) {
    int open_err = 0;
    gpiod_chip* candidate = Impl::open_path(path, &open_err);
    if (candidate == nullptr) {
      if (!by_label || err == ENOENT) err = open_err;  // a label search reports the first real failure
      continue;
    }
    if (by_label && Impl::label(candidate) != chip) {
      tried += (tried.empty() ? "" : ", ") + Impl::name(candidate) + " [" + Impl::label(candidate) + "]";
      TETHER_GPIOD(gpiod_chip_close)(candidate);
      continue;
    }
    s.chip = candidate;
    break;
  }
  if (s.chip == nullptr) {
    if (by_label) {
      std::string why = paths.empty()   ? "this machine has no GPIO chip: no /dev/gpiochip*"
                        : tried.empty() ? "no /dev/gpiochip* could be opened"
                                        : "chips: " + tried;
      if (tried.empty() && err != ENOENT) why += std::string(": ") + std::strerror(err) + advice(err);
      set_error_text(error, "gpio.chip: no GPIO chip is labelled \"%s\" (%s)", chip.c_str(), why.c_str());
      return os_error(tried.empty() && err != ENOENT ? code_for(err) : StatusCode::kNotFound, err);
    }
    set_error_text(error, "gpio.chip: %s: %s%s", paths.front().c_str(), std::strerror(err),
                   err == ENOENT ? " (gpiodetect lists the chips)" : advice(err));
    return os_error(code_for(err), err);
  }
  const unsigned count = Impl::num_lines(s.chip);
  s.description = Impl::name(s.chip) + " [" + Impl::label(s.chip) + "], " + std::to_string(count) + " lines";

  // Resolve every line before taking any.
  for (std::size_t i = 0; i < config.line_count; ++i) {
    const GpioLineConfig& line = config.lines[i];
    std::uint32_t offset = line.offset;
    if (line.by_name()) {
      const int found = s.find_line(line.line_name.c_str());
      if (found < 0) {
        set_error_text(error, "%s: %s has no line of that name (gpioinfo %s lists them)",
                       describe_line(config, i, 0, false).c_str(), s.description.c_str(), Impl::name(s.chip).c_str());
        close();
        return os_error(StatusCode::kNotFound, ENOENT);
      }
      offset = static_cast<std::uint32_t>(found);
    } else if (offset >= count) {
      set_error_text(error, "%s: %s has lines 0 to %u only", describe_line(config, i, offset, true).c_str(),
                     s.description.c_str(), count == 0 ? 0 : count - 1);
      close();
      return os_error(StatusCode::kNotFound, ENOENT);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s.offsets[j] == offset) {
        set_error_text(error, "%s: is %s too (a line has one use)", describe_line(config, i, offset, true).c_str(),
                       describe_line(config, j, offset, true).c_str());
        close();
        return os_error(StatusCode::kInvalidArgument, EINVAL);
      }
    }
    s.offsets.push_back(offset);
    s.directions.push_back(line.direction);
  }

  std::size_t failed = 0;
  err = s.request(config, consumer, &failed);
  if (err != 0) {
    const std::string who = err == EBUSY ? s.consumer_of(s.offsets[failed]) : std::string();
    set_error_text(error, "%s on %s: %s%s%s%s", describe_line(config, failed, s.offsets[failed], true).c_str(),
                   s.description.c_str(), std::strerror(err), who.empty() ? "" : " (used by \"",
                   who.c_str(), who.empty() ? advice(err) : "\")");
    const Status status = os_error(code_for(err), err);
    close();
    return status;
  }
  return Status();
#endif
}

Result<bool> GpioLines::read(std::size_t index) {
  if (!is_open()) return Status(StatusCode::kFailedPrecondition, Origin::kOs);
  if (index >= impl_->offsets.size()) return Status(StatusCode::kOutOfRange, Origin::kOs);
  bool value = false;
  const int err = impl_->get(index, &value);
  if (err != 0) return os_error(code_for(err), err);
  return value;
}

Status GpioLines::write(std::size_t index, bool value) {
  if (!is_open()) return Status(StatusCode::kFailedPrecondition, Origin::kOs);
  if (index >= impl_->offsets.size()) return Status(StatusCode::kOutOfRange, Origin::kOs);
  if (impl_->directions[index] != GpioDirection::kOutput) return Status(StatusCode::kInvalidArgument, Origin::kOs);
  const int err = impl_->set(index, value);
  return err == 0 ? Status() : os_error(code_for(err), err);
}

}  // namespace tether::port
