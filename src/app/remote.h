// The CLI commands that talk to a running server: `doppel twin get|patch|list` and
// `doppel query`, and the connection `doppel export|import` use (transfer.h). They read the
// server URL from --server or DOPPEL_URL (default http://127.0.0.1:8080) and the token from
// --token or DOPPEL_TOKEN. Called by the CLI on its thread. Exit codes: 0 success, 1 the API
// refused (its error printed), 2 bad usage, 3 the server could not be reached.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "api/client.h"

namespace doppel::app {

struct remote_options {
  std::string server;     // empty: DOPPEL_URL or http://127.0.0.1:8080
  std::string token;      // empty: DOPPEL_TOKEN
  std::string ca_file;    // https: the CA (PEM) to trust; empty: DOPPEL_CACERT, else the system's
  bool insecure = false;  // https: accept any certificate
};

// A connection to the server, with the URL and token it was opened with.
struct remote_connection {
  std::string url, token;
  std::unique_ptr<api::http_client> client;
};

// Connects as `o` says (the environment filling what it leaves empty); 0, or the exit code (2 bad
// URL or no token, 3 unreachable) after telling `err` why not.
int open_remote(const remote_options& o, remote_connection& c, std::ostream& err);

// Prints an API error answer as `doppel: STATUS CODE: MESSAGE` (or `doppel: HTTP STATUS`).
void print_api_error(const api::response& res, std::ostream& err);

// Sends one request and prints the JSON answer (pretty) on `out`, or the error on `err`.
// `page_size`, when not empty, is sent as max-items-per-page.
int remote_call(const remote_options& o, const std::string& method, const std::string& target, const std::string& body,
                std::ostream& out, std::ostream& err, const std::string& page_size = "");

// Runs a query and prints every row of every page as one {"value": [...]}.
int remote_query_all(const remote_options& o, const std::string& query, std::ostream& out, std::ostream& err);

// Percent-encodes a path segment (twin ids may hold any character).
std::string encode_segment(const std::string& s);

}  // namespace doppel::app
