#include "app/remote.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "api/client.h"
#include "api/http.h"

namespace doppel::app {

std::string encode_segment(const std::string& s) {
  return api::percent_encode(s, ":;");  // DTMIs stay readable; the server decodes either way
}

int open_remote(const remote_options& o, remote_connection& c, std::ostream& err) {
  c.url = o.server;
  if (c.url.empty() && std::getenv("DOPPEL_URL")) c.url = std::getenv("DOPPEL_URL");
  if (c.url.empty()) c.url = "http://127.0.0.1:8080";
  c.token = o.token;
  if (c.token.empty() && std::getenv("DOPPEL_TOKEN")) c.token = std::getenv("DOPPEL_TOKEN");
  api::tls_client_options tls;
  tls.ca_file = o.ca_file;
  if (tls.ca_file.empty() && std::getenv("DOPPEL_CACERT")) tls.ca_file = std::getenv("DOPPEL_CACERT");
  tls.insecure = o.insecure;
  std::string host;
  unsigned short port = 0;
  if (!api::http_client::parse_url(c.url, host, port, &tls.enabled)) {
    err << "doppel: --server " << c.url << " must look like http://127.0.0.1:8080 or https://host:8443\n";
    return 2;
  }
  if (c.token.empty()) {
    err << "doppel: no token; set DOPPEL_TOKEN (create one with `doppel token create DIR --role viewer --name me`)\n";
    return 2;
  }
  auto client = api::http_client::connect(host, port, std::chrono::seconds(30), tls);
  if (!client) {
    err << "doppel: cannot reach " << c.url << ": " << client.error().message() << "\n";
    return 3;
  }
  c.client = std::move(*client);
  return 0;
}

void print_api_error(const api::response& res, std::ostream& err) {
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
    err << "doppel: " << res.status << " " << j["error"].value("code", "") << ": " << j["error"].value("message", "")
        << "\n";
  } else {
    err << "doppel: HTTP " << res.status << "\n";
  }
}

namespace {

// One request; 0 with the answer (null for 204), or the exit code after telling `err`.
int exchange(remote_connection& c, const std::string& method, const std::string& target, const std::string& body,
             const std::string& page_size, nlohmann::json& answer, std::ostream& err) {
  api::request req{method, target, {{"Authorization", "Bearer " + c.token}}, body};
  if (!page_size.empty()) req.headers.emplace_back("max-items-per-page", page_size);
  if (method == "PATCH") req.headers.emplace_back("Prefer", "return=representation");
  auto res = c.client->send(req);
  if (!res) {
    err << "doppel: " << c.url << " did not answer: " << res.error().message() << "\n";
    return 3;
  }
  if (res->status >= 300) {
    print_api_error(*res, err);
    return 1;
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  answer = res->status == 204 || res->body.empty() ? nlohmann::json()
           : j.is_discarded()                      ? nlohmann::json(res->body)
                                                   : j;
  return 0;
}

}  // namespace

int remote_call(const remote_options& o, const std::string& method, const std::string& target, const std::string& body,
                std::ostream& out, std::ostream& err, const std::string& page_size) {
  remote_connection c;
  if (int code = open_remote(o, c, err)) return code;
  nlohmann::json answer;
  if (int code = exchange(c, method, target, body, page_size, answer, err)) return code;
  if (answer.is_null()) return 0;
  out << (answer.is_string() ? answer.get<std::string>() : answer.dump(2)) << "\n";
  return 0;
}

int remote_query_all(const remote_options& o, const std::string& query, std::ostream& out, std::ostream& err) {
  remote_connection c;
  if (int code = open_remote(o, c, err)) return code;
  nlohmann::json all = nlohmann::json::array();
  nlohmann::json body = {{"query", query}};
  for (;;) {
    nlohmann::json page;
    if (int code = exchange(c, "POST", "/query", body.dump(), "1000", page, err)) return code;
    for (auto& row : page["value"]) all.push_back(std::move(row));
    if (!page.contains("continuationToken") || page["continuationToken"].is_null()) break;
    body = {{"continuationToken", page["continuationToken"]}};
  }
  out << nlohmann::json{{"value", std::move(all)}}.dump(2) << "\n";
  return 0;
}

}  // namespace doppel::app
