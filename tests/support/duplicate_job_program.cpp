// Two jobs with one name: the program must stop at start with a message naming the job.
#include <isolate/isolate.hpp>

isolate::Job<std::string, std::string> first("duplicated-name", [](const std::string& s) { return s; });
isolate::Job<std::string, std::string> second("duplicated-name", [](const std::string& s) { return s + s; });

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;
  return 0;  // not reached: registration fails first
}
