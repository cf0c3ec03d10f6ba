// Serves a folder of files over HTTP: the web dashboard's build (web/, built with Vite) or the
// small status page that stands in for it, from the same binary and port as the API.
//
// - Content types by extension (html, js, mjs, css, json, svg, png, jpg, ico, woff2, wasm, map,
//   txt, ...); anything else is application/octet-stream. Every answer has nosniff.
// - Caching: a strong ETag from the file's size and modification time; If-None-Match with it
//   answers 304. Hashed build assets (assets/NAME-HASH.EXT, Vite's layout) are `immutable` for a
//   year; everything else, index.html first, is `no-cache` (revalidated on each use, cheaply).
// - A single-page app: a request for a file that does not exist, from a browser navigating
//   (Accept: text/html), gets index.html, so that the app's own paths (/twins/pump-1) load it.
//   Other misses are 404s in the API's error shape.
// - Refused: ".." and "." segments (also %-encoded), an encoded '/' or '\' or NUL in a segment
//   (400); hidden files (a segment starting with '.') and files that resolve, through symlinks,
//   outside the folder (404, as if absent).
//
// Callers: the router, for GET and HEAD requests that no API route matches (router.h,
// set_static_files). The server leaves the body out of a HEAD answer. Threading: serve() is
// safe for concurrent use (it reads the file system only); the folder may change while serving
// (a rebuild of the dashboard): each request sees the files as they are then.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "api/http.h"
#include "core/status.h"

namespace doppel::api {

class static_files {
 public:
  // The largest file served; larger ones answer 500 with a message (a build output never has one).
  static constexpr std::uintmax_t k_max_file_bytes = 64ull << 20;

  // Serves `root`, which must be a folder (its symlinks resolved now). invalid_argument when it
  // is missing or not a folder.
  static result<static_files> open(const std::filesystem::path& root);

  // The answer to a GET or HEAD of `path` (as sent: %-encoded, no query string): 200 with the
  // file, 304, or an error in the API's shape (400, 404, 500).
  response serve(const request& req, std::string_view path) const;

  const std::filesystem::path& root() const { return root_; }

  // The Content-Type for a file name's extension (exposed for tests).
  static std::string_view content_type(std::string_view name);
  // Whether a path below the root (e.g. "assets/index-abc123.js") is a content-hashed build
  // asset that never changes under its name.
  static bool is_hashed_asset(std::string_view relative);

 private:
  explicit static_files(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;  // canonical
};

}  // namespace doppel::api
