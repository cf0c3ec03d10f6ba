#include "api/static_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api/router.h"
#include "core/text.h"

namespace doppel::api {

namespace fs = std::filesystem;

namespace {

// The request's path as segments below the root; false (with `why`) when one may not be served.
bool relative_segments(std::string_view path, std::vector<std::string>& out, std::string& why) {
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view raw = path.substr(i, j - i);
    i = j + 1;
    if (raw.empty()) continue;
    std::string seg;
    if (!percent_decode(raw, seg)) return why = "malformed %-escape", false;
    if (seg == "." || seg == "..") return why = "a . or .. segment", false;
    if (seg.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return why = "an encoded /, \\ or NUL in a segment", false;
    }
    out.push_back(std::move(seg));
  }
  return true;
}

// Whether `p` (canonical) is `root` (canonical) or below it.
bool inside(const fs::path& root, const fs::path& p) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

// A strong validator from what changes when a build rewrites the file: its size and mtime.
std::string etag_of(const struct stat& st) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  return buf;
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2).
bool none_match(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  std::size_t i = 0;
  while (i < header.size()) {
    std::size_t j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    std::string_view tag = header.substr(i, j - i);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    i = j + 1;
  }
  return false;
}

bool wants_html(const request& req) { return req.header("accept").find("text/html") != std::string_view::npos; }

response not_found(std::string_view path) {
  return router::error(404, "not_found",
                       "no file " + quote(path) +
                           " in the web folder (api.web_root) and no API route; GET /openapi.json lists the routes");
}

}  // namespace

result<static_files> static_files::open(const fs::path& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return status::invalid_argument("the web folder " + quote(root.string()) +
                                    " is not a folder (api.web_root): build the dashboard into it, or set "
                                    "api.web_root: off");
  }
  return static_files(std::move(canonical));
}

std::string_view static_files::content_type(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> k_types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"},
      {".glb", "model/gltf-binary"},
      {".gltf", "model/gltf+json"},
  };
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) {
    return "application/octet-stream";
  }
  std::string ext(name.substr(dot));
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& [e, type] : k_types) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

bool static_files::is_hashed_asset(std::string_view relative) {
  // Vite writes hashed files to assets/ only, as NAME-HASH.EXT with a hash of 8 base64url
  // characters; files copied from public/ keep their names and go to the root.
  if (relative.substr(0, 7) != "assets/") return false;
  std::string_view name = relative.substr(relative.rfind('/') + 1);
  auto dot = name.find('.');
  std::string_view stem = name.substr(0, dot);
  auto dash = stem.rfind('-');
  if (dash == std::string_view::npos || dot == std::string_view::npos) return false;
  std::string_view hash = stem.substr(dash + 1);
  return hash.size() >= 6 && std::all_of(hash.begin(), hash.end(), [](char ch) {
           return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
         });
}

response static_files::serve(const request& req, std::string_view path) const {
  std::vector<std::string> segments;
  std::string why;
  if (!relative_segments(path, segments, why)) {
    return router::error(400, "bad_request",
                         "the path " + quote(path) + " has " + why + "; ask for a file below the web folder");
  }
  for (const auto& s : segments) {
    if (s.front() == '.') return not_found(path);  // .git, .env: never served
  }
  std::string relative;
  for (const auto& s : segments) relative += (relative.empty() ? "" : "/") + s;

  // The file, or a folder's index.html; symlinks are followed only within the root.
  auto resolve = [this](const std::string& rel, fs::path& out, struct stat& st) {
    std::error_code ec;
    fs::path p = fs::canonical(rel.empty() ? root_ : root_ / rel, ec);
    if (ec || !inside(root_, p)) return false;
    if (::stat(p.c_str(), &st) != 0) return false;
    if (S_ISDIR(st.st_mode)) {
      p = fs::canonical(p / "index.html", ec);
      if (ec || !inside(root_, p) || ::stat(p.c_str(), &st) != 0) return false;
    }
    if (!S_ISREG(st.st_mode)) return false;
    out = std::move(p);
    return true;
  };
  fs::path file;
  struct stat st {};
  bool found = resolve(relative, file, st);
  if (!found && wants_html(req)) {
    found = resolve("index.html", file, st);  // the single-page app's own paths
    relative = "index.html";
  }
  if (!found) return not_found(path);

  response r;
  r.content_type = std::string(content_type(file.filename().string()));
  std::string etag = etag_of(st);
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control",
                         is_hashed_asset(relative) ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (none_match(req.header("if-none-match"), etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (static_cast<std::uintmax_t>(st.st_size) > k_max_file_bytes) {
    return router::error(500, "internal",
                         "the file " + quote(relative) + " is larger than the 64 MiB a web file may have");
  }
  std::ifstream in(file, std::ios::binary);
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return router::error(500, "internal", "cannot read the file " + quote(relative));
  r.status = 200;
  return r;
}

}  // namespace doppel::api
