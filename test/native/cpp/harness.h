// A minimal test harness (no third-party framework is available offline): TEST registers a
// function, CHECK* record failures and keep going, main() runs everything and returns non-zero on
// any failure, so ctest reports it.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace diffai_test {

struct Case {
  const char* name;
  void (*fn)();
};

std::vector<Case>& Registry();
extern int failures;

struct Registrar {
  Registrar(const char* name, void (*fn)()) { Registry().push_back({name, fn}); }
};

inline bool Near(double got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  const double scale = std::fabs(want) > 1 ? std::fabs(want) : 1;
  return std::fabs(got - want) <= tol * scale;
}

}  // namespace diffai_test

#define TEST(name)                                             \
  static void name();                                          \
  static diffai_test::Registrar name##_registrar(#name, name); \
  static void name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++diffai_test::failures;                                                      \
    }                                                                               \
  } while (0)

#define CHECK_EQ(a, b)                                                                      \
  do {                                                                                      \
    const auto va_ = (a);                                                                   \
    const auto vb_ = (b);                                                                   \
    if (!(va_ == vb_)) {                                                                    \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s != %s (%.17g vs %.17g)\n", __FILE__, \
                   __LINE__, #a, #b, static_cast<double>(va_), static_cast<double>(vb_));   \
      ++diffai_test::failures;                                                              \
    }                                                                                       \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                    \
    const double va_ = (a);                                                               \
    const double vb_ = (b);                                                               \
    if (!diffai_test::Near(va_, vb_, (tol))) {                                            \
      std::fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.17g, %s = %.17g (tol %g)\n", \
                   __FILE__, __LINE__, #a, va_, #b, vb_, static_cast<double>(tol));       \
      ++diffai_test::failures;                                                            \
    }                                                                                     \
  } while (0)
