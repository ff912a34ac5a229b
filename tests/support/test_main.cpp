// The main() of every test binary: a test binary doubles as a worker executable, so worker mode
// is dispatched before GoogleTest starts.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
