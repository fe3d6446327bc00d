// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// TETHER_ERROR_TEXTS=0 (the lean build, preset cortex-m4-lean): set_error_text() writes nothing.
// Its own program, built with the macro and no Tether library: the setting has to be the same in
// every translation unit of a program (docs/porting.md), so it cannot share tether_unit_tests.
#include <catch2/catch.hpp>

#include "tether/error_text.hpp"

#if TETHER_ERROR_TEXTS
#error "this test is built with TETHER_ERROR_TEXTS=0"
#endif

TEST_CASE("without error texts, set_error_text leaves the text as it was and takes a null pointer") {
  tether::ErrorText why;
  tether::set_error_text(&why, "key %s: %d is out of range", "interval_s", 7);
  CHECK(why.empty());
  CHECK(why.view().empty());
  REQUIRE(why.assign("kept").ok());
  tether::set_error_text(&why, "replaced? %s", "no");
  CHECK(why.view() == "kept");
  tether::set_error_text(nullptr, "nothing to write to");
}
