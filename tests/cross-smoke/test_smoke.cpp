// Own main: Debian's libCatch2WithMain.a is only usable for the host arch.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "smoke.hpp"

#include <thread>

TEST_CASE("cJSON parses an object", "[cjson]") {
    CHECK(smoke::parse_json(R"({"name":"tether","n":42})") == "name=tether n=42");
    CHECK(smoke::parse_json("{not json").empty());
}

TEST_CASE("OpenSSL 3 is linked", "[openssl]") {
    CHECK(smoke::openssl_version().rfind("OpenSSL 3.", 0) == 0);
}

TEST_CASE("mbedTLS SHA-256", "[mbedtls]") {
    CHECK(smoke::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Paho async_client can be created", "[paho]") {
    CHECK(smoke::make_client_id("t1") == "t1");
}

TEST_CASE("libp11 context", "[p11]") { CHECK(smoke::p11_ctx_ok()); }

TEST_CASE("threads run under the emulator", "[threads]") {
    int value = 0;
    std::thread t([&] { value = 7; });
    t.join();
    CHECK(value == 7);
}

TEST_CASE("built for the target", "[arch]") {
    INFO("arch " << smoke::target_arch());
#if defined(SMOKE_EXPECT_ARCH)
    CHECK(std::string(smoke::target_arch()) == SMOKE_EXPECT_ARCH);
#endif
    CHECK(std::string(smoke::target_arch()) != "unknown");
}
