#include "app/remote.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "api/client.h"
#include "api/http.h"

namespace doppel::app {

std::string encode_segment(const std::string& s) {
  return api::percent_encode(s, ":;");  // DTMIs stay readable; the server decodes either way
}

int remote_call(const remote_options& o, const std::string& method, const std::string& target, const std::string& body,
                std::ostream& out, std::ostream& err, const std::string& page_size) {
  std::string url = o.server;
  if (url.empty() && std::getenv("DOPPEL_URL")) url = std::getenv("DOPPEL_URL");
  if (url.empty()) url = "http://127.0.0.1:8080";
  std::string token = o.token;
  if (token.empty() && std::getenv("DOPPEL_TOKEN")) token = std::getenv("DOPPEL_TOKEN");
  std::string host;
  unsigned short port = 0;
  if (!api::http_client::parse_url(url, host, port)) {
    err << "doppel: --server " << url << " must look like http://127.0.0.1:8080\n";
    return 2;
  }
  if (token.empty()) {
    err << "doppel: no token; set DOPPEL_TOKEN (create one with `doppel token create DIR --role viewer --name me`)\n";
    return 2;
  }
  auto client = api::http_client::connect(host, port);
  if (!client) {
    err << "doppel: cannot reach " << url << ": " << client.error().message() << "\n";
    return 3;
  }
  api::request req{method, target, {{"Authorization", "Bearer " + token}}, body};
  if (!page_size.empty()) req.headers.emplace_back("max-items-per-page", page_size);
  if (method == "PATCH") req.headers.emplace_back("Prefer", "return=representation");
  auto res = (*client)->send(req);
  if (!res) {
    err << "doppel: " << url << " did not answer: " << res.error().message() << "\n";
    return 3;
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 300) {
    if (!j.is_discarded() && j.contains("error")) {
      err << "doppel: " << res->status << " " << j["error"].value("code", "") << ": " << j["error"].value("message", "")
          << "\n";
    } else {
      err << "doppel: HTTP " << res->status << "\n";
    }
    return 1;
  }
  if (res->status == 204 || res->body.empty()) return 0;
  out << (j.is_discarded() ? res->body : j.dump(2)) << "\n";
  return 0;
}

}  // namespace doppel::app
