// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Shadow replica: the documents kept for a shadow, reports applied to them, and the KvStore record.
//
// Record layout (little-endian; the documents are stored back to back after the names):
//   0  magic "TSH1"            4  format (1), slot count (5), 2 reserved bytes
//   8  version (i64)          16  desired version (i64)
//  24  thing name length (u16) 26  shadow name length (u16)
//  28  document lengths (5 x u32: desired, reported, unsent, in flight, deferred paths)
//  48  thing name, shadow name, documents
#include <cstdio>
#include <cstring>

#include "shadow_internal.hpp"
#include "tether/crc32c.hpp"
#include "tether/shadow/shadow.hpp"
#include "tether/utf8.hpp"

namespace tether::shadow {
namespace {

constexpr char kMagic[4] = {'T', 'S', 'H', '1'};
constexpr std::uint8_t kFormat = 1;

void put_u16(char* p, std::uint16_t v) {
  p[0] = static_cast<char>(v & 0xFF);
  p[1] = static_cast<char>(v >> 8);
}
void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_i64(char* p, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xFF);
}
std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

Status derive_store_key(const ShadowSettings& settings, FixedString<kMaxKvKey>& out, ErrorText* why) {
  if (!settings.store_key.empty()) {
    const Status s = validate_kv_key(settings.store_key);
    if (!s.ok() || !out.assign(settings.store_key).ok()) {
      set_error_text(why, "shadow store_key \"%.*s\" is not a valid KvStore key ([a-z0-9_.-], 1..%u bytes)",
                     static_cast<int>(settings.store_key.size()), settings.store_key.data(),
                     static_cast<unsigned>(kMaxKvKey));
      return Status(StatusCode::kInvalidArgument, Origin::kStore);
    }
    return Status();
  }
  out.assign("shadow").ignore();
  if (settings.name.empty()) return Status();
  out.append(".").ignore();
  if (out.append(settings.name).ok() && validate_kv_key(out.view()).ok()) return Status();
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc32c(as_bytes(settings.name))));
  out.assign("shadow.").ignore();
  out.append(hex).ignore();
  return Status();
}

std::string_view Shadow::doc(Slot slot) const {
  std::size_t offset = docs_offset_;
  for (int i = 0; i < slot; ++i) offset += doc_len_[i];
  return std::string_view(record_ + offset, doc_len_[slot]);
}

std::string_view Shadow::unsent() {
  // What is in flight has not been acknowledged either: the two together, newer reports winning.
  const std::string_view pending = doc(kPending);
  const std::string_view inflight = doc(kInflight);
  if (pending.empty() || inflight.empty()) {
    return !pending.empty() ? pending : !inflight.empty() ? inflight : std::string_view("{}");
  }
  Result<std::string_view> both = merge(inflight, pending, MergeMode::kAccumulate, Span<char>(scratch_, sizeof scratch_));
  return both.ok() ? both.value() : pending;
}

Status Shadow::set_doc(Slot slot, std::string_view text) {
  const std::size_t limit = slot == kDeferred ? kDeferredBytes : kStateBytes;
  if (text.size() > limit) return Status(StatusCode::kResourceExhausted, Origin::kShadow, static_cast<std::uint16_t>(limit));
  std::size_t start = docs_offset_;
  for (int i = 0; i < slot; ++i) start += doc_len_[i];
  std::size_t tail = 0;
  for (int i = slot + 1; i < kSlotCount; ++i) tail += doc_len_[i];
  const std::size_t old_len = doc_len_[slot];
  if (start + text.size() + tail > sizeof record_) return Status(StatusCode::kResourceExhausted, Origin::kShadow);
  std::memmove(record_ + start + text.size(), record_ + start + old_len, tail);
  if (!text.empty()) std::memcpy(record_ + start, text.data(), text.size());
  doc_len_[slot] = static_cast<std::uint32_t>(text.size());
  return Status();
}

void Shadow::init_record() {
  const std::string_view thing = agent_.topics().thing_name();
  const std::string_view name = settings_.name;
  std::memset(record_, 0, kHeaderBytes);
  std::memcpy(record_ + kHeaderBytes, thing.data(), thing.size());
  if (!name.empty()) std::memcpy(record_ + kHeaderBytes + thing.size(), name.data(), name.size());
  docs_offset_ = kHeaderBytes + thing.size() + name.size();
  for (std::uint32_t& len : doc_len_) len = 0;
  set_doc(kDesired, "{}").ignore();
  set_doc(kReported, "{}").ignore();
  version_ = -1;
  desired_version_ = -1;
  deferred_.clear();
}

void Shadow::load() {
  if (store_ == nullptr) return;
  Result<std::size_t> got = store_->get(store_key_.view(), Span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(record_),
                                                                               sizeof record_));
  if (!got.ok() && got.status().code() == StatusCode::kNotFound) {
    init_record();
    TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "no stored replica under \"%s\": starting empty",
                    store_key_.c_str());
    return;
  }
  const char* problem = nullptr;
  const std::string_view thing = agent_.topics().thing_name();
  const std::string_view name = settings_.name;
  std::uint32_t lens[kSlotCount] = {};
  std::size_t total = 0;
  if (!got.ok()) {
    problem = "the store could not read it";
  } else if (got.value() < kHeaderBytes || std::memcmp(record_, kMagic, 4) != 0 ||
             static_cast<std::uint8_t>(record_[4]) != kFormat || static_cast<std::uint8_t>(record_[5]) != kSlotCount) {
    problem = "not a shadow replica of this format";
  } else if (get_le(record_ + 24, 2) != thing.size() || get_le(record_ + 26, 2) != name.size() ||
             got.value() < kHeaderBytes + thing.size() + name.size() ||
             std::string_view(record_ + kHeaderBytes, thing.size()) != thing ||
             std::string_view(record_ + kHeaderBytes + thing.size(), name.size()) != name) {
    problem = "it belongs to another thing or shadow";
  } else {
    for (int i = 0; i < kSlotCount; ++i) {
      lens[i] = static_cast<std::uint32_t>(get_le(record_ + 28 + 4 * i, 4));
      total += lens[i];
      if (lens[i] > (i == kDeferred ? kDeferredBytes : kStateBytes)) problem = "a document is too long";
    }
    if (problem == nullptr && kHeaderBytes + thing.size() + name.size() + total != got.value()) {
      problem = "its length does not match its header";
    }
  }
  if (problem == nullptr) {
    docs_offset_ = kHeaderBytes + thing.size() + name.size();
    for (int i = 0; i < kSlotCount; ++i) doc_len_[i] = lens[i];
    version_ = static_cast<std::int64_t>(get_le(record_ + 8, 8));
    desired_version_ = static_cast<std::int64_t>(get_le(record_ + 16, 8));
    if (!documents_valid()) problem = "a document is not valid JSON of the expected shape";
  }
  if (problem != nullptr) {
    init_record();
    ErrorText message;
    set_error_text(&message, "stored shadow replica \"%s\" discarded: %s; the next sync rebuilds it",
                   store_key_.c_str(), problem);
    TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, got.ok() ? Status(StatusCode::kDataLoss, Origin::kShadow) : got.status(),
                    "%s", message.c_str());
    emit(ShadowEventType::kReplicaDiscarded, Status(StatusCode::kDataLoss, Origin::kShadow), message.view());
    dirty_ = true;
    return;
  }
  restore_inflight();  // an update in flight at the reboot is sent again
  TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "replica \"%s\" loaded: version %ld, %u deferred decisions",
                  store_key_.c_str(), static_cast<long>(version_), static_cast<unsigned>(deferred_.size()));
}

bool Shadow::documents_valid() {
  for (int i = 0; i < kSlotCount; ++i) {
    const std::string_view text = doc(static_cast<Slot>(i));
    const bool optional = i == kPending || i == kInflight || i == kDeferred;
    if (text.empty()) {
      if (optional) continue;
      return false;
    }
    const Status s = json::parse(text, kMaxJsonInput, [&](const json::Value& root) -> Status {
      if (i != kDeferred) return root.is_object() ? Status() : Status(StatusCode::kInvalidArgument, Origin::kShadow);
      if (!root.is_array()) return Status(StatusCode::kInvalidArgument, Origin::kShadow);
      for (json::Value p = root.first_child(); p.valid(); p = p.next()) {
        Result<std::string_view> path = p.as_string();
        Deferred entry;
        if (!path.ok() || !validate_key_path(path.value()).ok() || !entry.path.assign(path.value()).ok() ||
            !deferred_.push_back(entry)) {
          return Status(StatusCode::kInvalidArgument, Origin::kShadow);
        }
      }
      return Status();
    });
    if (!s.ok()) {
      deferred_.clear();
      return false;
    }
  }
  return true;
}

Status Shadow::flush() {
  if (store_ == nullptr || phase_ == Phase::kIdle) return Status();
  json::Writer writer(Span<char>(scratch_, sizeof scratch_));
  writer.begin_array();
  for (const Deferred& d : deferred_) writer.string(d.path.view());
  writer.end_array();
  Result<std::string_view> paths = writer.finish();
  Status s = paths.ok() ? set_doc(kDeferred, deferred_.empty() ? std::string_view() : paths.value()) : paths.status();
  if (s.ok()) {
    std::memcpy(record_, kMagic, 4);
    record_[4] = static_cast<char>(kFormat);
    record_[5] = static_cast<char>(kSlotCount);
    put_i64(record_ + 8, version_);
    put_i64(record_ + 16, desired_version_);
    put_u16(record_ + 24, static_cast<std::uint16_t>(agent_.topics().thing_name().size()));
    put_u16(record_ + 26, static_cast<std::uint16_t>(settings_.name.size()));
    std::size_t total = docs_offset_;
    for (int i = 0; i < kSlotCount; ++i) {
      put_u32(record_ + 28 + 4 * i, doc_len_[i]);
      total += doc_len_[i];
    }
    s = store_->put(store_key_.view(), Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(record_), total));
  }
  last_persist_ = agent_.clock().now();
  persisted_once_ = true;
  if (!s.ok()) {
    ++stats_.persist_failures;
    TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, s, "shadow replica \"%s\" not stored; retrying",
                     store_key_.c_str());
    emit(ShadowEventType::kStoreFailed, s);
    return s;
  }
  dirty_ = false;
  ++stats_.persists;
  return Status();
}

// ---- reports -------------------------------------------------------------------------------------

Status Shadow::replace_with_merge(Slot slot, std::string_view patch, MergeMode mode) {
  Result<std::string_view> merged = merge(doc(slot), patch, mode, Span<char>(scratch_, sizeof scratch_));
  if (!merged.ok()) return merged.status();
  if (slot == kPending && merged.value() == "{}") return set_doc(slot, {});
  return set_doc(slot, merged.value());
}

Status Shadow::apply_report(std::string_view patch, ErrorText* why) {
  if (phase_ == Phase::kIdle) {
    set_error_text(why, "shadow not started");
    return Status(StatusCode::kFailedPrecondition, Origin::kShadow);
  }
  Status s = json::parse(
      patch, kMaxJsonInput, [&](const json::Value& root) -> Status { return check_section(root, why); }, why);
  if (!s.ok()) return s;
  Result<std::string_view> merged = merge(doc(kReported), patch, MergeMode::kApply, Span<char>(scratch_, sizeof scratch_));
  if (!merged.ok()) {
    set_error_text(why, "reported state would exceed %u bytes", static_cast<unsigned>(kStateBytes));
    return Status(StatusCode::kOutOfRange, Origin::kShadow, 0xFFFF);
  }
  const std::size_t total = merged.value().size() + doc(kDesired).size();
  if (total > kMaxStateBytes) {
    set_error_text(why, "desired (%u bytes) + reported (%u bytes) would exceed the %u-byte shadow limit",
                   static_cast<unsigned>(doc(kDesired).size()), static_cast<unsigned>(merged.value().size()),
                   static_cast<unsigned>(kMaxStateBytes));
    return Status(StatusCode::kOutOfRange, Origin::kShadow, static_cast<std::uint16_t>(total > 0xFFFF ? 0xFFFF : total));
  }
  // Depth of the resulting reported section (a patch can deepen an existing branch).
  s = json::parse(merged.value(), kMaxJsonInput, [&](const json::Value& root) { return check_section(root, why); });
  if (!s.ok()) return s;
  s = set_doc(kReported, merged.value());
  if (!s.ok()) return s;
  if (!replace_with_merge(kPending, patch, MergeMode::kAccumulate).ok()) {
    // The unsent reports outgrew their buffer (many deletions): send them by comparing the whole
    // replica with the service's copy instead.
    set_doc(kPending, {}).ignore();
    TETHER_LOG_WARN(agent_.logger(), Origin::kShadow, Status(StatusCode::kResourceExhausted, Origin::kShadow),
                    "unsent shadow reports exceed %u bytes: a full comparison with the service replaces them",
                    static_cast<unsigned>(kStateBytes));
    resync();
  }
  mark_dirty();
  return Status();
}

Status Shadow::report(std::string_view patch, ErrorText* why) {
  Status s = apply_report(patch, why);
  if (s.ok()) pump();
  return s;
}

Status Shadow::report_path(std::string_view path, const LeafWriter& leaf, ErrorText* why) {
  Status s = validate_key_path(path, why);
  if (!s.ok()) return s;
  if (under_status_key(path)) {
    set_error_text(why, "\"%.*s\" lies under the status key \"%.*s\"", static_cast<int>(path.size()), path.data(),
                   static_cast<int>(settings_.status_key.size()), settings_.status_key.data());
    return Status(StatusCode::kInvalidArgument, Origin::kShadow);
  }
  json::Writer writer(Span<char>(patch_, sizeof patch_));
  write_path_patch(writer, path, [&](json::Writer& w) { leaf(w); });
  Result<std::string_view> patch = writer.finish();
  if (!patch.ok()) {
    set_error_text(why, "value for \"%.*s\" is larger than the %u bytes of state a shadow holds",
                   static_cast<int>(path.size()), path.data(), static_cast<unsigned>(kMaxStateBytes));
    return patch.status().code() == StatusCode::kResourceExhausted
               ? Status(StatusCode::kOutOfRange, Origin::kShadow, 0xFFFF)
               : patch.status();
  }
  return report(patch.value(), why);
}

Status Shadow::report_bool(std::string_view path, bool value, ErrorText* why) {
  return report_path(path, [value](json::Writer& w) { w.boolean(value); }, why);
}
Status Shadow::report_int(std::string_view path, std::int64_t value, ErrorText* why) {
  return report_path(path, [value](json::Writer& w) { w.number(value); }, why);
}
Status Shadow::report_double(std::string_view path, double value, ErrorText* why) {
  return report_path(path, [value](json::Writer& w) { w.number(value); }, why);
}
Status Shadow::report_string(std::string_view path, std::string_view value, ErrorText* why) {
  return report_path(path, [value](json::Writer& w) { w.string(value); }, why);
}
Status Shadow::report_json(std::string_view path, std::string_view json_value, ErrorText* why) {
  const Status s = json::parse(json_value, kStateBytes, [](const json::Value&) { return Status(); }, why);
  if (!s.ok()) return s;
  return report_path(path, [json_value](json::Writer& w) { w.raw(json_value); }, why);
}

void Shadow::restore_inflight() {
  update_.active = false;
  const std::string_view inflight = doc(kInflight);
  if (inflight.empty()) return;
  // Unsent reports made meanwhile are newer: they win over the copy that was in flight.
  Result<std::string_view> merged =
      doc(kPending).empty() ? Result<std::string_view>(inflight)
                            : merge(inflight, doc(kPending), MergeMode::kAccumulate, Span<char>(scratch_, sizeof scratch_));
  if (merged.ok() && set_doc(kPending, merged.value()).ok()) {
    set_doc(kInflight, {}).ignore();
  } else {
    set_doc(kInflight, {}).ignore();
    set_doc(kPending, {}).ignore();
    get_wanted_ = true;  // a full comparison with the service finds what was lost here
  }
  mark_dirty();
}

void Shadow::send_differences(const json::Value& service_reported) {
  json::Writer writer(Span<char>(patch_, sizeof patch_));
  bool any = false;
  json::parse(doc(kReported), kMaxJsonInput, [&](const json::Value& local) -> Status {
    any = write_diff(writer, local, service_reported);
    return Status();
  }).ignore();
  if (!any) return;
  Result<std::string_view> diff = writer.finish();
  if (!diff.ok() || !replace_with_merge(kPending, diff.value(), MergeMode::kAccumulate).ok()) {
    TETHER_LOG_ERROR(agent_.logger(), Origin::kShadow, diff.status(),
                     "local reported state differs from the service's but the difference does not fit %u bytes",
                     static_cast<unsigned>(kStateBytes));
    return;
  }
  TETHER_LOG_INFO(agent_.logger(), Origin::kShadow, "reported state changed while offline: %u bytes to send",
                  static_cast<unsigned>(diff.value().size()));
}

// ---- the status field ----------------------------------------------------------------------------

bool Shadow::has_rejection(std::string_view path) {
  bool found = false;
  json::parse(doc(kReported), kMaxJsonInput, [&](const json::Value& reported) -> Status {
    found = reported[settings_.status_key]["rejected"][path].valid();
    return Status();
  }).ignore();
  return found;
}

Status Shadow::write_status_patch(std::string_view path, std::string_view reason, std::int64_t version, bool clear,
                                  ErrorText* why) {
  json::Writer writer(Span<char>(patch_, sizeof patch_));
  writer.begin_object().key(settings_.status_key).begin_object().key("rejected").begin_object().key(path);
  if (clear) {
    writer.null();
  } else {
    writer.begin_object().key("reason").string(utf8::prefix_bytes(reason, kMaxReason)).key("version").number(version).end_object();
  }
  writer.end_object().end_object().end_object();
  Result<std::string_view> patch = writer.finish();
  if (!patch.ok()) return patch.status();
  return apply_report(patch.value(), why);
}

Status Shadow::record_rejection(std::string_view path, std::string_view reason, std::int64_t version, ErrorText* why) {
  return write_status_patch(path, reason, version, false, why);
}

Status Shadow::clear_rejection(std::string_view path, ErrorText* why) {
  return write_status_patch(path, {}, 0, true, why);
}

}  // namespace tether::shadow
