// expect: the function must be callable as Out\(const In&\)
// Must not compile, with one message: a job function that takes the wrong type.
#include <isolate/isolate.hpp>

#include <string>

isolate::Job<std::string, int> length("length", [](int not_a_string) { return not_a_string; });

int main() {}
