// API tokens and roles. A token is a random secret ("dpl_" + 64 hex digits) shown once, when it
// is created; the server keeps only its SHA-256 digest, with a name and a role, in
// DATA/tokens.json (docs/api.md, "Tokens and roles"). Roles are ordered: viewer (read) < operator (read,
// desired state, commands) < admin (everything).
//
// Callers: `doppel token create|list|revoke` (create_token, list_tokens, revoke_token) and the API server
// (token_store::find on every request). Threading: token_store is safe for concurrent use. It re-reads the file when it
// changed, checking at most once a second, so tokens created or removed while the server runs
// take effect within a second.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace doppel::api {

enum class role { viewer = 1, operator_ = 2, admin = 3 };

std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view s);

// Standard base64 (OpenSSL); empty when `s` is not base64.
std::string base64_decode(std::string_view s);

// Hex SHA-256 of `s` (OpenSSL).
std::string sha256_hex(std::string_view s);

struct token_info {
  std::string name;
  role level = role::viewer;
  std::string digest;  // hex SHA-256 of the secret (token_store::find); empty from list_tokens
};

// Creates a token with `name` and `r` in the token file (created with mode 0600 if missing)
// and returns the secret. invalid_argument for an empty or duplicate name, io_error when the
// file cannot be written.
result<std::string> create_token(const std::filesystem::path& file, const std::string& name, role r);

// The tokens in the file (names and roles; the secrets are not kept).
result<std::vector<token_info>> list_tokens(const std::filesystem::path& file);
// Removes the token named `name`; a running server refuses it within a second. not_found when
// there is none.
status revoke_token(const std::filesystem::path& file, const std::string& name);

class token_store {
 public:
  explicit token_store(std::filesystem::path file);

  // Loads the file; ok when it does not exist (no tokens: every request is refused).
  status load();
  // The token behind a presented secret, or nullopt.
  std::optional<token_info> find(std::string_view secret);
  // Whether the token with this digest (token_info::digest) is still in the file: false once it
  // was revoked (re-read at most once a second, like find). Long-lived connections (the /events
  // WebSocket) ask this periodically and close when it turns false.
  bool holds(const std::string& digest);
  std::size_t size() const;

 private:
  status load_locked();
  void refresh_locked();  // re-reads the file if it changed, at most once a second

  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, token_info> by_digest_;  // hex SHA-256 -> token; guarded by mu_
  std::filesystem::file_time_type loaded_mtime_{};         // guarded by mu_
  std::chrono::steady_clock::time_point last_check_{};     // guarded by mu_
};

}  // namespace doppel::api
