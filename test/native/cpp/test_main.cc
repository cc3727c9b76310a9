#include <cstring>

#include "harness.h"

namespace diffai_test {

std::vector<Case>& Registry() {
  static std::vector<Case> cases;
  return cases;
}

int failures = 0;

}  // namespace diffai_test

int main(int argc, char** argv) {
  int ran = 0;
  for (const diffai_test::Case& c : diffai_test::Registry()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    const int before = diffai_test::failures;
    c.fn();
    ++ran;
    std::printf("%s %s\n", diffai_test::failures == before ? "ok  " : "FAIL", c.name);
  }
  std::printf("%d tests, %d failed checks\n", ran, diffai_test::failures);
  return diffai_test::failures == 0 ? 0 : 1;
}
