// Twin PATCH throughput and latency over HTTP against the real `doppel serve`, next to a bare
// Boost.Beast server that answers "200 OK" to the same requests (the physical ceiling of HTTP
// on this machine), both measured in this run with the same load generator: this process, a
// separate process from the servers, 8 keep-alive connections, requests pipelined.
// Also: memory per twin (RSS growth of the server / twins) after loading 100,000 twins.
//
// Usage: bench_api DOPPEL_BINARY [seconds]   (bench_api --bare PORT_FD runs the anchor server)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/auth.h"
#include "bench_util.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// --- The anchor: a bare Beast server, the same async pattern as Doppel's, answering 200 OK. ---

// Both servers run as many I/O threads as `doppel serve` does by default.
const int k_server_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));

class bare_session : public std::enable_shared_from_this<bare_session> {
 public:
  explicit bare_session(tcp::socket&& s) : stream_(std::move(s)) {}
  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->res_ = {http::status::ok, self->req_.version()};
      self->res_.set(http::field::content_type, "application/json");
      self->res_.body() = "{}";
      self->res_.keep_alive(self->req_.keep_alive());
      self->res_.prepare_payload();
      http::async_write(self->stream_, self->res_, [self](beast::error_code e, std::size_t) {
        if (!e) self->read();
      });
    });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

int run_bare(int port_fd) {
  net::io_context ioc(k_server_threads);
  tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  std::function<void()> accept = [&] {
    acceptor.async_accept(net::make_strand(ioc), [&](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<bare_session>(std::move(s))->read();
      accept();
    });
  };
  accept();
  std::string port = std::to_string(acceptor.local_endpoint().port()) + "\n";
  if (write(port_fd, port.data(), port.size()) < 0) return 1;
  close(port_fd);
  std::vector<std::thread> more;
  for (int i = 1; i < k_server_threads; ++i) more.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : more) t.join();
  return 0;
}

// --- The load generator: N connections, each keeping `depth` requests in flight. ---

struct load_result {
  double seconds = 0;
  std::size_t ok = 0, failed = 0;
  std::vector<double> latencies;  // seconds
  unsigned first_error_status = 0;
  std::string first_error;
};

class connection {
 public:
  using make_fn = std::function<std::string(std::size_t)>;  // request number -> serialized request
  connection(net::io_context& ioc, unsigned short port, std::size_t depth, make_fn make, load_result& out,
             clock_type::time_point until)
      : socket_(ioc), depth_(depth), make_(std::move(make)), out_(out), until_(until) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    socket_.set_option(tcp::no_delay(true));
  }
  void start() {
    for (std::size_t i = 0; i < depth_; ++i) send_one();
    read();
  }

 private:
  void send_one() {
    if (clock_type::now() >= until_) return;
    std::string next = make_(n_++);
    if (next.empty()) return;  // this connection's share is done
    sent_.push_back(clock_type::now());
    pending_ += next;
    flush();
  }
  void flush() {
    if (writing_ || pending_.empty()) return;
    writing_ = true;
    out_buf_.swap(pending_);
    pending_.clear();
    net::async_write(socket_, net::buffer(out_buf_), [this](beast::error_code ec, std::size_t) {
      writing_ = false;
      if (!ec) flush();
    });
  }
  void read() {
    if (sent_.empty()) return;
    parser_.emplace();
    parser_->body_limit(1 << 26);
    http::async_read(socket_, buffer_, *parser_, [this](beast::error_code ec, std::size_t) {
      if (ec) return;
      auto now = clock_type::now();
      unsigned status = parser_->get().result_int();
      if (status == 200 || status == 204) {
        ++out_.ok;
        out_.latencies.push_back(std::chrono::duration<double>(now - sent_.front()).count());
      } else {
        if (!out_.failed++) {
          out_.first_error_status = status;
          out_.first_error = parser_->get().body().substr(0, 300);
        }
      }
      sent_.pop_front();
      send_one();
      read();
    });
  }

  tcp::socket socket_;
  std::size_t depth_;
  make_fn make_;
  load_result& out_;
  clock_type::time_point until_;
  std::deque<clock_type::time_point> sent_;
  std::string pending_, out_buf_;
  bool writing_ = false;
  std::size_t n_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

load_result run_load(unsigned short port, std::size_t connections, std::size_t depth, double seconds,
                     const std::function<std::string(std::size_t conn, std::size_t n)>& make) {
  net::io_context ioc(1);
  load_result out;
  auto start = clock_type::now();
  auto until = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::unique_ptr<connection>> conns;
  for (std::size_t c = 0; c < connections; ++c) {
    conns.push_back(std::make_unique<connection>(
        ioc, port, depth, [&make, c](std::size_t n) { return make(c, n); }, out, until));
  }
  for (auto& c : conns) c->start();
  ioc.run();
  out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string request_text(const std::string& method, const std::string& target, const std::string& token,
                         const std::string& body) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                  "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                  body;
  return r;
}

using doppel::bench::child;
using doppel::bench::rss_mib;
using doppel::bench::spawn_listening;

// What the API may write (the read-only properties are the device's).
std::string pump_twin(std::size_t i) {
  return R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": )" +
         std::to_string(1000 + i % 1000) + R"(, "mode": "auto", "motor": {"$metadata": {}}})";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--bare") return run_bare(std::stoi(argv[2]));
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_api DOPPEL_BINARY [seconds]\n");
    return 2;
  }
  std::string doppel = argv[1];
  double seconds = argc > 2 ? std::stod(argv[2]) : 5;
  constexpr std::size_t k_twins = 10000, k_memory_twins = 100000, k_connections = 8, k_depth = 16;

  // A project with the pump-station models and no declared twins.
  fs::path dir = fs::temp_directory_path() / ("doppel-bench-api-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "project");
  fs::copy(fs::path(DOPPEL_SOURCE_DIR) / "examples/pump-station/models", dir / "project/models",
           fs::copy_options::recursive);
  std::ofstream(dir / "project/doppel.yaml") << "name: bench\nmodels: [models]\ntwins: []\n";
  auto token = doppel::api::create_token(dir / "data/tokens.json", "bench", doppel::api::role::admin);
  if (!token) {
    std::fprintf(stderr, "cannot create a token: %s\n", token.error().message().c_str());
    return 1;
  }
  child server =
      spawn_listening({doppel, "serve", (dir / "project").string(), "--listen", "127.0.0.1:0", "--data",
                       (dir / "data").string(), "--threads", std::to_string(k_server_threads), "--mqtt", "off"});
  if (!server.port) {
    std::fprintf(stderr, "doppel serve did not start\n");
    return 1;
  }
  double rss_base = rss_mib(server.pid);

  // Load 10,000 twins (pipelined PUTs), then PATCH random ones.
  auto seed = [&](std::size_t from, std::size_t to) {
    std::size_t per = (to - from + k_connections - 1) / k_connections;
    auto r = run_load(server.port, k_connections, k_depth, 3600, [&](std::size_t c, std::size_t n) -> std::string {
      std::size_t i = from + c * per + n;
      if (n >= per || i >= to) return {};
      return request_text("PUT", "/digitaltwins/pump-" + std::to_string(i), *token, pump_twin(i));
    });
    return r;
  };
  auto seeded = seed(0, k_twins);
  if (seeded.failed || seeded.ok != k_twins) {
    std::fprintf(stderr, "seeding failed: %zu ok, %zu failed; first: %u %s\n", seeded.ok, seeded.failed,
                 seeded.first_error_status, seeded.first_error.c_str());
    kill(server.pid, SIGKILL);
    return 1;
  }
  std::mt19937_64 rng(42);
  auto patch = [&](std::size_t, std::size_t n) {
    std::size_t i = rng() % k_twins;
    return request_text("PATCH", "/digitaltwins/pump-" + std::to_string(i), *token,
                        R"([{"op": "replace", "path": "/targetSpeed", "value": )" + std::to_string(n % 3000) + "}]");
  };
  auto doppel_pipelined = run_load(server.port, k_connections, k_depth, seconds, patch);
  auto doppel_serial = run_load(server.port, k_connections, 1, seconds, patch);

  // The anchor, on the same requests.
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t bare = fork();
  if (bare == 0) {
    close(fds[0]);
    execl("/proc/self/exe", "bench_api", "--bare", std::to_string(fds[1]).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char buf[32] = {};
  if (read(fds[0], buf, sizeof buf - 1) <= 0) return 1;
  auto bare_port = static_cast<unsigned short>(std::stoi(buf));
  auto bare_pipelined = run_load(bare_port, k_connections, k_depth, seconds, patch);
  auto bare_serial = run_load(bare_port, k_connections, 1, seconds, patch);
  kill(bare, SIGKILL);
  waitpid(bare, nullptr, 0);

  // Memory: up to 100,000 twins.
  auto more = seed(k_twins, k_memory_twins);
  double rss_full = rss_mib(server.pid);
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);
  fs::remove_all(dir);

  auto rate = [](const load_result& r) { return static_cast<double>(r.ok) / r.seconds; };
  std::printf("\nTwin PATCH over HTTP: %zu twins, %zu keep-alive connections, %.0f s per run, durable acks\n", k_twins,
              k_connections, seconds);
  std::printf("| %-44s | %11s | %11s | %11s | %9s |\n", "measure", "doppel", "bare Beast", "ratio", "ADT limit");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(13, '-').c_str(),
              std::string(13, '-').c_str(), std::string(13, '-').c_str(), std::string(11, '-').c_str());
  for (auto [name, d, b] : {std::tuple{"pipelined x16: patches/s", &doppel_pipelined, &bare_pipelined},
                            std::tuple{"one at a time: patches/s", &doppel_serial, &bare_serial}}) {
    std::printf("| %-44s | %11.0f | %11.0f | %10.3f | %8.1fx |\n", name, rate(*d), rate(*b), rate(*d) / rate(*b),
                rate(*d) / 1000.0);
    std::printf("| %-44s | %11.2f | %11.2f | %10.1fx | %9s |\n", "  latency p50 (ms)",
                percentile(d->latencies, 0.5) * 1e3, percentile(b->latencies, 0.5) * 1e3,
                percentile(d->latencies, 0.5) / percentile(b->latencies, 0.5), "");
    std::printf("| %-44s | %11.2f | %11.2f | %10.1fx | %9s |\n", "  latency p99 (ms)",
                percentile(d->latencies, 0.99) * 1e3, percentile(b->latencies, 0.99) * 1e3,
                percentile(d->latencies, 0.99) / percentile(b->latencies, 0.99), "");
    if (d->failed) {
      std::printf("| %-44s | %11zu | %11s | %11s | %9s |\n", "  failed requests", d->failed, "", "", "");
    }
  }
  std::printf("| %-44s | %11.0f | %11s | %11s | %9s |\n", "twins created/s (PUT, pipelined, 100k run)", rate(more), "",
              "", "");
  std::printf("| %-44s | %11.0f | %11s | %11s | %9s |\n", "server RSS per twin (bytes, 100,000 twins)",
              (rss_full - rss_base) * 1048576.0 / static_cast<double>(k_memory_twins), "", "", "");
  std::printf(
      "ratio = doppel / bare Beast (the same load generator against a server that answers 200 OK without work);\n"
      "ADT limit = doppel's patches/s over Azure Digital Twins' default 1,000 API requests/s per instance.\n");
  return 0;
}
