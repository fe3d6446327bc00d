#include "smoke.hpp"

#include <cjson/cJSON.h>
#if SMOKE_HAVE_P11
#include <libp11.h>
#endif
#include <mbedtls/sha256.h>
#include <mqtt/async_client.h>
#include <openssl/crypto.h>

#include <cstdio>
#include <memory>

namespace smoke {

std::string parse_json(const std::string& text) {
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(cJSON_Parse(text.c_str()), &cJSON_Delete);
    if (!root) return {};
    const cJSON* name = cJSON_GetObjectItemCaseSensitive(root.get(), "name");
    const cJSON* n = cJSON_GetObjectItemCaseSensitive(root.get(), "n");
    if (!cJSON_IsString(name) || !cJSON_IsNumber(n)) return {};
    return std::string("name=") + name->valuestring + " n=" + std::to_string(n->valueint);
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

std::string sha256_hex(const std::string& data) {
    unsigned char out[32];
    mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, 0);
    std::string hex;
    char buf[3];
    for (unsigned char c : out) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        hex += buf;
    }
    return hex;
}

std::string make_client_id(const std::string& id) {
    mqtt::async_client client("ssl://localhost:8883", id);
    return client.get_client_id();
}

bool p11_ctx_ok() {
#if !SMOKE_HAVE_P11
    return true;  // not available in this (host) build
#else
    PKCS11_CTX* ctx = PKCS11_CTX_new();
    if (!ctx) return false;
    PKCS11_CTX_free(ctx);
    return true;
#endif
}

const char* target_arch() {
#if defined(__aarch64__)
    return "aarch64";
#elif defined(__arm__)
    return "arm";
#elif defined(__x86_64__)
    return "x86_64";
#else
    return "unknown";
#endif
}

}  // namespace smoke
