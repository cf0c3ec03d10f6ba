// The fixture of the API tests: a copy of the pump-station example, tokens for each role, the
// real `doppel serve` binary on a loopback port and an HTTP client to it.
#pragma once

#include <fstream>
#include <iterator>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

#include "api/auth.h"
#include "api/client.h"
#include "common/server_process.h"
#include "common/temp_dir.h"
#include "ingest/broker_auth.h"

namespace doppel::api {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs a shell command; its exit code and output.
inline std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A plain TCP connection to the server, for clients that misbehave (never read, never finish).
class raw_socket {
 public:
  explicit raw_socket(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~raw_socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;
  bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads until `enough` says so or the connection ends (or `timeout` passes between reads).
  template <class Pred>
  std::string read_until(Pred enough, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[65536];
    while (!enough(out)) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

class api_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    project_ = dir_.path() / "project";
    fs::copy(fs::path(DOPPEL_SOURCE_DIR) / "examples" / "pump-station", project_, fs::copy_options::recursive);
    data_ = dir_.path() / "data";
    for (auto [name, r] : {std::pair{"admin", role::admin}, {"operator", role::operator_}, {"viewer", role::viewer}}) {
      auto t = create_token(data_ / "tokens.json", name, r);
      ASSERT_TRUE(t) << t.error().to_string();
      tokens_[name] = *t;
    }
  }
  // The example's doppel.yaml without its live simulation (simulation.live), for tests that count
  // what the history holds or change the models it binds.
  void without_simulation() {
    std::ifstream in(project_ / "doppel.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = text.find("\nsimulation:");
    ASSERT_NE(at, std::string::npos);
    std::ofstream(project_ / "doppel.yaml", std::ios::trunc) << text.substr(0, at + 1);
  }
  void start(std::vector<std::string> extra = {}) {
    ASSERT_TRUE(server_.start(project_, data_, extra)) << server_.output();
    start_client();
  }
  void start_client() {
    auto c = http_client::connect("127.0.0.1", server_.port());
    ASSERT_TRUE(c) << c.error().to_string();
    client_ = std::move(*c);
  }

  response call(const std::string& method, const std::string& target, const std::string& who = "admin",
                const std::string& body = "", std::vector<std::pair<std::string, std::string>> headers = {}) {
    request r{method, target, std::move(headers), body};
    if (!who.empty()) r.headers.emplace_back("Authorization", "Bearer " + tokens_[who]);
    auto res = client_->send(r);
    EXPECT_TRUE(res) << res.error().to_string();
    return res ? *res : response{};
  }
  static json body(const response& r) { return json::parse(r.body, nullptr, false); }
  static std::string header(const response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  // A fleet device credential on the managed broker (which refuses anonymous clients), made
  // before start; the user name is "fleet".
  const std::string& fleet_password() {
    if (fleet_password_.empty()) {
      auto pw = ingest::add_device(data_ / "mqtt-devices.json", "fleet", {});
      EXPECT_TRUE(pw) << pw.error().to_string();
      if (pw) fleet_password_ = *pw;
    }
    return fleet_password_;
  }
  // Every error has the API's shape.
  static void expect_error(const response& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = body(r);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_TRUE(j["error"]["details"].is_array());
  }

  doppel::testing::temp_dir dir_{"doppel-api-test"};
  fs::path project_, data_;
  std::map<std::string, std::string> tokens_;
  doppel::testing::server_process server_;
  std::unique_ptr<http_client> client_;
  std::string fleet_password_;
};

}  // namespace doppel::api
