// Plain HTTP request and response values, free of Boost.Beast, so that routing, auth and
// handlers compile without Beast's heavy headers and can be tested without a socket.
//
// Callers: the server (server.cpp) converts Beast messages to and from these; the router and
// its handlers read and fill them. Plain values, not synchronized.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace doppel::api {

struct request {
  std::string method;                                        // "GET", "PUT", ...
  std::string target;                                        // as sent: path and query string, percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The first header with this (lower-case) name, or "".
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (ETag, Location, ...)
};

// Decodes %XX escapes (and nothing else); false when an escape is malformed.
bool percent_decode(std::string_view in, std::string& out);
// Escapes everything but RFC 3986's unreserved characters (and `keep`), for a path segment.
std::string percent_encode(std::string_view in, std::string_view keep = "");

}  // namespace doppel::api
