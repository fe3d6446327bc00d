#include <cstdint>
#include <optional>
#include <string_view>

std::optional<std::size_t> topic_index(std::string_view topic);
std::uint32_t checksum(std::string_view data);

volatile std::uint32_t g_result;

int main() {
    auto idx = topic_index("shadow");
    g_result = checksum("tether") + (idx ? static_cast<std::uint32_t>(*idx) : 0xffu);
    return 0;
}
