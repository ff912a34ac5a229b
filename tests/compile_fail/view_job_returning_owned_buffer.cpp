// expect: would leave the view dangling
// Must not compile: a job whose Out is std::string_view but whose function returns a std::string
// (a temporary: the view would dangle once the function returns).
#include <isolate/isolate.hpp>

isolate::Job<std::string, std::string_view> dangling("dangling", [](const std::string& in) { return in.substr(0, 3); });

int main() {}
