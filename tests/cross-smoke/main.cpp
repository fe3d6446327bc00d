#include "smoke.hpp"

#include <iostream>

int main() {
    const std::string json = smoke::parse_json(R"({"name":"tether","n":42})");
    const std::string id = smoke::make_client_id("smoke-client");
    std::cout << "arch: " << smoke::target_arch() << "\n"
              << "openssl: " << smoke::openssl_version() << "\n"
              << "cjson: " << json << "\n"
              << "mqtt client id: " << id << "\n"
              << "sha256(abc): " << smoke::sha256_hex("abc") << "\n"
              << "libp11 ctx: " << (smoke::p11_ctx_ok() ? "ok" : "failed") << "\n";
    const bool ok = json == "name=tether n=42" && id == "smoke-client";
    std::cout << (ok ? "smoke: OK" : "smoke: FAILED") << std::endl;
    return ok ? 0 : 1;
}
