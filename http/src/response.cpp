// response.cpp — Response::header: a case-insensitive lookup.
#include <isolate/http.hpp>

#include <algorithm>
#include <cctype>

namespace isolate::http {

std::optional<std::string> Response::header(std::string_view name) const {
  const auto same = [name](const auto& header) {
    return std::equal(header.first.begin(), header.first.end(), name.begin(), name.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
  };
  const auto found = std::find_if(headers.begin(), headers.end(), same);
  if (found == headers.end()) return std::nullopt;
  return found->second;
}

}  // namespace isolate::http
