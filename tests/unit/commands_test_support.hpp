// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared by the command tests: an adapter whose protocol is a list (what the inbox sent, and
// deliveries the test makes).

#include <string>
#include <string_view>
#include <vector>

#include "tether/commands/inbox.hpp"
#include "tether/json.hpp"

namespace tether::test {

using commands::Adapter;
using commands::Delivery;
using commands::ExecStatus;
using commands::Inbox;
using commands::Incoming;
using commands::Source;
using commands::StatusAnswer;
using commands::StatusReport;

struct Sent {
  std::string id;
  ExecStatus status;
  std::string reason_code;
  std::string details;
  std::string reason;
};

// An adapter whose protocol is a list: what it sent, and deliveries the test makes.
class ScriptedAdapter final : public Adapter {
 public:
  explicit ScriptedAdapter(Source source, bool pulls = false) : source_(source), pulls_(pulls) {}
  Source source() const override { return source_; }
  Status start(Inbox& inbox, ErrorText*) override {
    inbox_ = &inbox;
    return Status();
  }
  Status send_status(std::string_view id, const StatusReport& r) override {
    if (fail_sends > 0) {
      --fail_sends;
      return Status(StatusCode::kUnavailable, Origin::kAgent);
    }
    sent.push_back(
        {std::string(id), r.status, std::string(r.reason_code), std::string(r.details), std::string(r.reason)});
    return Status();
  }
  void on_slot_free() override { ++slot_free_calls; }
  bool pulls_work() const override { return pulls_; }

  Delivery deliver(const std::string& id, const std::string& operation, Milliseconds deadline = Milliseconds::max()) {
    Incoming in;
    in.id = id;
    in.operation = operation;
    in.deadline = deadline;
    return inbox_->deliver(*this, in);
  }
  // Delivers a JSON document as an adapter does: the operation is its "operation" member. A text
  // that is not JSON is delivered without a document.
  Delivery deliver_json(const std::string& id, std::string_view document, Milliseconds deadline = Milliseconds::max()) {
    Incoming in;
    in.id = id;
    in.deadline = deadline;
    in.payload = Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(document.data()), document.size());
    Delivery result = Delivery::kRejected;
    const Status parsed = json::parse(document, kMaxJsonInput, [&](const json::Value& root) {
      in.document = root;
      in.operation = root["operation"].as_string().value_or("");
      result = inbox_->deliver(*this, in);
      return Status();
    });
    if (!parsed.ok()) result = inbox_->deliver(*this, in);
    return result;
  }
  void answer(const std::string& id, StatusAnswer a) { inbox_->status_answered(*this, id, a); }
  std::vector<ExecStatus> statuses_of(const std::string& id) const {
    std::vector<ExecStatus> out;
    for (const Sent& s : sent) {
      if (s.id == id) out.push_back(s.status);
    }
    return out;
  }

  std::vector<Sent> sent;
  int fail_sends = 0;
  int slot_free_calls = 0;

 private:
  Source source_;
  bool pulls_;
  Inbox* inbox_ = nullptr;
};

}  // namespace tether::test
