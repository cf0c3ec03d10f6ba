#include "api/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "core/json_input.h"
#include "core/text.h"

namespace doppel::api {

namespace fs = std::filesystem;

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

result<nlohmann::json> read_token_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return nlohmann::json{{"tokens", nlohmann::json::array()}};
  auto text = read_file(file);
  if (!text) return text.error();
  auto parsed = parse_json(*text);
  nlohmann::json j = parsed ? std::move(*parsed) : nlohmann::json();
  if (!parsed || !j.is_object() || !j.contains("tokens") || !j["tokens"].is_array()) {
    return status::invalid_argument(file.string() + " is not a token file ({\"tokens\": [...]}); restore it or " +
                                    "remove it and create the tokens again");
  }
  return j;
}

}  // namespace

std::string sha256_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

std::string_view to_string(role r) {
  switch (r) {
    case role::viewer: return "viewer";
    case role::operator_: return "operator";
    case role::admin: return "admin";
  }
  return "viewer";
}

std::optional<role> parse_role(std::string_view s) {
  if (s == "viewer") return role::viewer;
  if (s == "operator") return role::operator_;
  if (s == "admin") return role::admin;
  return std::nullopt;
}

namespace {

// Written to a temporary file and renamed, so a running server never reads half a file.
status write_token_file(const fs::path& file, const nlohmann::json& j) {
  return write_private_file(file, j.dump(2) + "\n");
}

}  // namespace

std::string base64_decode(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0 || s.size() > 4096) return {};
  std::string out(s.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the bytes the '=' padding stands for.
  std::size_t pad = (s.back() == '=') + (s.size() > 1 && s[s.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

result<std::string> create_token(const fs::path& file, const std::string& name, role r) {
  if (name.empty() || name.size() > 128) return status::invalid_argument("a token name must be 1-128 characters");
  auto j = read_token_file(file);
  if (!j) return j.error();
  for (const auto& t : (*j)["tokens"]) {
    if (t.value("name", "") == name) {
      return status::invalid_argument("a token named " + quote(name) + " exists already; choose another --name");
    }
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return status::internal("the system random generator failed");
  std::string secret = "dpl_" + hex(raw, sizeof raw);
  (*j)["tokens"].push_back({{"name", name}, {"role", to_string(r)}, {"sha256", sha256_hex(secret)}});
  if (status s = write_token_file(file, *j); !s) return s;
  return secret;
}

result<std::vector<token_info>> list_tokens(const fs::path& file) {
  auto j = read_token_file(file);
  if (!j) return j.error();
  std::vector<token_info> out;
  for (const auto& t : (*j)["tokens"]) {
    auto r = parse_role(t.value("role", ""));
    out.push_back({t.value("name", ""), r ? *r : role::viewer, ""});
  }
  return out;
}

status revoke_token(const fs::path& file, const std::string& name) {
  auto j = read_token_file(file);
  if (!j) return j.error();
  auto& tokens = (*j)["tokens"];
  auto before = tokens.size();
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(),
                              [&](const nlohmann::json& t) { return t.value("name", "") == name; }),
               tokens.end());
  if (tokens.size() == before) {
    return status::not_found("no token named " + quote(name) + "; `doppel token list` shows them");
  }
  return write_token_file(file, *j);
}

token_store::token_store(fs::path file) : file_(std::move(file)) {}

status token_store::load() {
  std::lock_guard lock(mu_);
  return load_locked();
}

status token_store::load_locked() {
  auto j = read_token_file(file_);
  if (!j) return j.error();
  std::unordered_map<std::string, token_info> tokens;
  for (const auto& t : (*j)["tokens"]) {
    auto r = parse_role(t.value("role", ""));
    std::string digest = t.value("sha256", "");
    if (!r || digest.size() != 64) {
      return status::invalid_argument(file_.string() + ": token " + quote(t.value("name", "?")) +
                                      " needs a role (viewer, operator, admin) and a sha256 digest");
    }
    tokens[digest] = {t.value("name", ""), *r, digest};
  }
  by_digest_ = std::move(tokens);
  std::error_code ec;
  loaded_mtime_ = fs::last_write_time(file_, ec);
  return status::ok();
}

void token_store::refresh_locked() {
  // Tokens created or removed since we loaded: look at the file at most once a second. A file
  // that became unreadable or invalid keeps the tokens loaded before (and says nothing here;
  // `doppel token create` refuses to write an invalid one).
  auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::seconds(1)) return;
  last_check_ = now;
  std::error_code ec;
  auto mtime = fs::last_write_time(file_, ec);
  if (ec && !by_digest_.empty() && !fs::exists(file_, ec)) {
    by_digest_.clear();  // the file was removed: no tokens
  } else if (!ec && mtime != loaded_mtime_) {
    (void)load_locked();
  }
}

std::optional<token_info> token_store::find(std::string_view secret) {
  if (secret.size() != 68 || secret.substr(0, 4) != "dpl_") return std::nullopt;
  std::string digest = sha256_hex(secret);
  std::lock_guard lock(mu_);
  refresh_locked();
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::nullopt;
  token_info out = it->second;
  out.digest = std::move(digest);
  return out;
}

bool token_store::holds(const std::string& digest) {
  std::lock_guard lock(mu_);
  refresh_locked();
  return by_digest_.count(digest) > 0;
}

std::size_t token_store::size() const {
  std::lock_guard lock(mu_);
  return by_digest_.size();
}

}  // namespace doppel::api
