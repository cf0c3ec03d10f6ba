// Static files from the real `doppel serve`: the web folder named by api.web_root (content types,
// ETag and 304, cache headers, the single-page-app fallback, HEAD, traversal and symlinks that
// lead out refused, API routes first), `off`, and the status page installed beside the binary.
#include "api/static_files.h"

#include <fstream>

#include "api_fixture.h"

namespace doppel::api {
namespace {

class static_api_test : public api_fixture {
 protected:
  void SetUp() override {
    api_fixture::SetUp();
    web_ = project_ / "site";
    write("index.html", "<!doctype html><title>app</title>");
    write("assets/index-abc123.js", "console.log(1);");
    write("assets/index-Bx9_kQ2z.css", "body{}");
    write("app.mjs", "export {};");
    write("style.css", "p{}");
    write("data.json", "{}");
    write("logo.svg", "<svg/>");
    write("pic.png", std::string("\x89PNG\r\n", 6));
    write("photo.jpg", "jpg");
    write("favicon.ico", "ico");
    write("font.woff2", "woff2");
    write("mod.wasm", std::string("\0asm", 4));
    write("app.js.map", "{}");
    write("robots.txt", "User-agent: *");
    write("docs/index.html", "<p>docs</p>");
    write(".env", "SECRET=1");
    // Outside the web folder, reachable only through symlinks.
    std::ofstream(project_ / "secret.txt") << "top secret";
    fs::create_symlink(project_ / "secret.txt", web_ / "escape.txt");
    fs::create_directories(project_ / "outside");
    std::ofstream(project_ / "outside" / "inner.txt") << "top secret";
    fs::create_symlink(project_ / "outside", web_ / "outdir");
    // A symlink that stays inside is served.
    fs::create_symlink(web_ / "robots.txt", web_ / "alias.txt");
  }
  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((web_ / rel).parent_path());
    std::ofstream(web_ / rel, std::ios::binary) << content;
  }
  void start_with(const std::string& web_root) {
    std::ofstream(project_ / "doppel.yaml", std::ios::app) << "api:\n  web_root: " << web_root << "\n";
    start();
  }
  // Static files need no token: asked without one.
  response get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {},
               const std::string& method = "GET") {
    return call(method, target, "", "", std::move(headers));
  }
  fs::path web_;
};

TEST_F(static_api_test, ServesFilesWithTheirContentTypesWithoutAToken) {
  start_with("site");
  const std::pair<const char*, const char*> cases[] = {
      {"/", "text/html; charset=utf-8"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/assets/index-abc123.js", "text/javascript; charset=utf-8"},
      {"/app.mjs", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/data.json", "application/json"},
      {"/logo.svg", "image/svg+xml"},
      {"/pic.png", "image/png"},
      {"/photo.jpg", "image/jpeg"},
      {"/favicon.ico", "image/x-icon"},
      {"/font.woff2", "font/woff2"},
      {"/mod.wasm", "application/wasm"},
      {"/app.js.map", "application/json"},
      {"/robots.txt", "text/plain; charset=utf-8"},
      {"/docs/", "text/html; charset=utf-8"},
      {"/alias.txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [target, type] : cases) {
    response r = get(target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, type) << target;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << target;
  }
  EXPECT_EQ(get("/").body, "<!doctype html><title>app</title>");
  EXPECT_EQ(get("/pic.png").body, std::string("\x89PNG\r\n", 6));
  EXPECT_EQ(get("/mod.wasm").body, std::string("\0asm", 4));
  EXPECT_EQ(get("/docs/").body, "<p>docs</p>");
  EXPECT_EQ(get("/alias.txt").body, "User-agent: *");
}

TEST_F(static_api_test, EtagAnswers304AndCacheHeadersFollowTheName) {
  start_with("site");
  response first = get("/style.css");
  ASSERT_EQ(first.status, 200u);
  std::string etag = header(first, "ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(header(first, "Cache-Control"), "no-cache");

  response again = get("/style.css", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(header(again, "ETag"), etag);
  EXPECT_EQ(header(again, "Content-Length"), "");  // a 304's would have to be the 200's
  EXPECT_EQ(get("/style.css", {{"If-None-Match", "\"other\", W/" + etag}}).status, 304u);
  EXPECT_EQ(get("/style.css", {{"If-None-Match", "*"}}).status, 304u);
  EXPECT_EQ(get("/style.css", {{"If-None-Match", "\"other\""}}).status, 200u);

  // A changed file has another ETag, so the cached copy is not reused.
  write("style.css", "p{color:red}");
  response changed = get("/style.css", {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200u);
  EXPECT_EQ(changed.body, "p{color:red}");
  EXPECT_NE(header(changed, "ETag"), etag);

  EXPECT_EQ(header(get("/index.html"), "Cache-Control"), "no-cache");
  EXPECT_EQ(header(get("/"), "Cache-Control"), "no-cache");
  EXPECT_EQ(header(get("/assets/index-abc123.js"), "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(get("/assets/index-Bx9_kQ2z.css"), "Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(static_api_test, UnknownPathsFromABrowserGetTheAppOthersA404) {
  start_with("site");
  // A browser navigating to one of the app's own paths.
  response nav = get("/twins/pump-1", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  EXPECT_EQ(nav.status, 200u);
  EXPECT_EQ(nav.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(nav.body, "<!doctype html><title>app</title>");
  EXPECT_EQ(header(nav, "Cache-Control"), "no-cache");
  // A missing asset (a script asks with */*) is a 404 in the API's shape.
  expect_error(get("/assets/gone-abc123.js", {{"Accept", "*/*"}}), 404, "not_found");
  expect_error(get("/twins/pump-1"), 404, "not_found");
  // Below an API path there is no fallback: the API's 404 stays.
  response api = get("/digitaltwins/pump-1/no/such/thing", {{"Accept", "text/html"}});
  expect_error(api, 404, "not_found");
  EXPECT_NE(api.body.find("no route"), std::string::npos) << api.body;
  // Hidden files are not served, not even as the app.
  expect_error(get("/.env"), 404, "not_found");
  expect_error(get("/.env", {{"Accept", "text/html"}}), 404, "not_found");
}

TEST_F(static_api_test, HeadAnswersTheHeadersOfGetWithoutTheBody) {
  start_with("site");
  response g = get("/style.css");
  response h = get("/style.css", {}, "HEAD");
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(h.body, "");
  EXPECT_EQ(h.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(header(h, "Content-Length"), std::to_string(g.body.size()));
  EXPECT_EQ(header(h, "ETag"), header(g, "ETag"));
  // The connection goes on: the next answer is not read as a HEAD's missing body.
  EXPECT_EQ(get("/robots.txt").body, "User-agent: *");
  // HEAD on an API route stays what it was: not allowed.
  EXPECT_EQ(call("HEAD", "/healthz").status, 405u);
}

TEST_F(static_api_test, PathsLeadingOutOfTheFolderAreRefused) {
  start_with("site");
  for (const char* target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/%2E%2E/etc/passwd", "/docs/../../secret.txt", "/./index.html",
        "/..%2fsecret.txt", "/%2fetc%2fpasswd", "/..%5csecret.txt", "/index.html%00.txt"}) {
    response r = get(target, {{"Accept", "text/html"}});
    expect_error(r, 400, "bad_request");
    EXPECT_EQ(r.body.find("top secret"), std::string::npos) << target;
  }
  // Symlinks that lead out are as if absent.
  for (const char* target : {"/escape.txt", "/outdir/inner.txt"}) {
    response r = get(target);
    expect_error(r, 404, "not_found");
    EXPECT_EQ(r.body.find("top secret"), std::string::npos) << target;
  }
  // An absolute path is a path below the folder: //etc/passwd is etc/passwd there.
  expect_error(get("//etc/passwd"), 404, "not_found");
}

TEST_F(static_api_test, ApiRoutesWinOverFiles) {
  // Files named like API routes are never served: the routes answer.
  write("healthz", "a file");
  write("openapi.json", "{\"not\": \"the api\"}");
  write("models/index.html", "<p>models</p>");
  start_with("site");
  response h = get("/healthz", {{"Accept", "text/html"}});
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(body(h)["status"], "ok") << h.body;
  EXPECT_EQ(body(get("/openapi.json"))["openapi"], "3.0.3");
  // /models needs a token, as before: no file served instead.
  expect_error(get("/models/", {{"Accept", "text/html"}}), 401, "unauthorized");
  // A method the route does not take stays a 405.
  expect_error(get("/telemetry", {{"Accept", "text/html"}}), 405, "method_not_allowed");
  // POST to a static path is not a file request.
  expect_error(call("POST", "/index.html", "admin", "{}"), 404, "not_found");
}

TEST_F(static_api_test, OffKeepsTheApiAnswerAtTheRoot) {
  start_with("off");
  response r = get("/", {{"Accept", "text/html"}});
  expect_error(r, 404, "not_found");
  EXPECT_NE(r.body.find("no route"), std::string::npos) << r.body;
}

TEST_F(static_api_test, AMissingWebRootStopsTheStart) {
  std::ofstream(project_ / "doppel.yaml", std::ios::app) << "api:\n  web_root: no-such-folder\n";
  EXPECT_FALSE(server_.start(project_, data_));
  EXPECT_NE(server_.output().find("no-such-folder"), std::string::npos) << server_.output();
}

// The build installs web/static beside the binary; without api.web_root, serve finds it there.
TEST_F(static_api_test, TheStatusPageIsServedByDefault) {
  ASSERT_TRUE(fs::exists(fs::path(DOPPEL_BINARY).parent_path() / "web" / "index.html"));
  start();
  response page = get("/", {{"Accept", "text/html"}});
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/healthz"), std::string::npos);
  EXPECT_NE(page.body.find("/openapi.json"), std::string::npos);
  EXPECT_NE(page.body.find("app.js"), std::string::npos);
  response script = get("/app.js");
  EXPECT_EQ(script.status, 200u);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("fetch(\"/healthz\""), std::string::npos);
  // Requests for files are counted apart from the API's unmatched ones.
  response m = call("GET", "/metrics");
  EXPECT_NE(m.body.find("doppel_http_requests_total{route=\"static\",method=\"GET\",status=\"200\"} 2"),
            std::string::npos)
      << m.body;
}

TEST(static_files_test, HashedAssetsAreThoseViteNames) {
  EXPECT_TRUE(static_files::is_hashed_asset("assets/index-abc123.js"));
  EXPECT_TRUE(static_files::is_hashed_asset("assets/vendor-react-Bx9_kQ2z.js"));
  EXPECT_TRUE(static_files::is_hashed_asset("assets/logo-D3adB33f.svg"));
  EXPECT_FALSE(static_files::is_hashed_asset("index-abc123.js"));  // not in assets/
  EXPECT_FALSE(static_files::is_hashed_asset("assets/index.js"));
  EXPECT_FALSE(static_files::is_hashed_asset("assets/index-ab.js"));
  EXPECT_FALSE(static_files::is_hashed_asset("assets/index-abc123"));
  EXPECT_EQ(static_files::content_type("a/B.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(static_files::content_type("noext"), "application/octet-stream");
  EXPECT_EQ(static_files::content_type("dir.d/noext"), "application/octet-stream");
}

}  // namespace
}  // namespace doppel::api
