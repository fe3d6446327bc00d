// Cortex-M4 check: C++17 library features that need no OS, no exceptions, no RTTI.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace {
constexpr std::array<std::string_view, 3> kTopics{"telemetry", "shadow", "jobs"};
}

std::optional<std::size_t> topic_index(std::string_view topic) {
    for (std::size_t i = 0; i < kTopics.size(); ++i) {
        if (kTopics[i] == topic) return i;
    }
    return std::nullopt;
}

std::uint32_t checksum(std::string_view data) {
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : data) {
        h = (h ^ c) * 16777619u;
    }
    return h;
}
