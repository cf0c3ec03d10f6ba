// libFuzzer target for the API's request handling (routing, percent-decoding, query strings,
// headers, auth, JSON bodies, JSON Patch, desired state, queries, telemetry in, history out:
// raw, aggregated, across twins, exported) through the real router, twin graph, telemetry
// pipeline and history store. Input: one byte, then "METHOD\nTARGET\nName: value\n...\n\nBODY"; when
// that byte is odd an admin token is added. Every request must be answered exactly once, with a
// known status and, for JSON, a parseable body (errors in the API's error shape).
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <string>

#include "api/router.h"
#include "api/routes.h"
#include "ingest/dead_letters.h"
#include "ingest/pipeline.h"
#include "model/registry.h"
#include "store/metadata_store.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace {

struct world {
  doppel::model::model_registry models;
  std::unique_ptr<doppel::store::metadata_store> store;
  std::unique_ptr<doppel::twin::twin_graph> graph;
  std::unique_ptr<doppel::api::token_store> tokens;
  std::unique_ptr<doppel::api::router> routes;
  std::unique_ptr<doppel::ts::history> history;
  doppel::ingest::dead_letters letters{100};
  std::unique_ptr<doppel::ingest::telemetry_pipeline> pipeline;
  std::string token;

  world() {
    if (!models.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok()) __builtin_trap();
    // Under /dev/shm when it exists: the store fsyncs every commit.
    std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    dir /= "doppel-fuzz-api-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto s = doppel::store::metadata_store::open(dir / "doppel.db");
    if (!s) __builtin_trap();
    store = std::move(*s);
    auto g = doppel::twin::twin_graph::open(models, *store);
    if (!g) __builtin_trap();
    graph = std::move(*g);
    auto t = doppel::api::create_token(dir / "tokens.json", "fuzz", doppel::api::role::admin);
    if (!t) __builtin_trap();
    token = *t;
    tokens = std::make_unique<doppel::api::token_store>(dir / "tokens.json");
    if (!tokens->load()) __builtin_trap();
    routes = std::make_unique<doppel::api::router>(*tokens, doppel::api::api_options{});
    doppel::ts::history_options ho;
    ho.dir = dir / "history";
    ho.sync = false;  // the fuzzer looks for crashes, not for durability
    // No sealing at exit: this world is a static, destroyed after the main thread's thread_local
    // zstd contexts, which a checkpoint would create anew and leak.
    ho.seal_on_close = false;
    auto h = doppel::ts::history::open(ho);
    if (!h) __builtin_trap();
    history = std::move(*h);
    pipeline = std::make_unique<doppel::ingest::telemetry_pipeline>(
        *graph, letters, doppel::ingest::pipeline_options{1, 100000, history.get()});
    // The route areas as `doppel serve` adds them (src/app/serve.cpp).
    doppel::api::add_system_routes(*routes, *graph, *history);
    doppel::api::add_model_routes(*routes, *graph, models);
    doppel::api::add_query_routes(*routes, *graph);
    doppel::api::add_twin_routes(*routes, *graph);
    doppel::api::add_history_routes(*routes, *graph, *history);
    doppel::api::add_export_routes(*routes, *graph, *history);
    doppel::api::add_telemetry_routes(*routes, *pipeline, letters, *graph);
    doppel::api::add_event_routes(*routes);
    auto pump = nlohmann::json::parse(
        R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 1, "motor": {"$metadata": {}}})");
    auto station = nlohmann::json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:PumpStation;1"}})");
    if (!graph->put_twin("pump-1", pump, {}, {true})) __builtin_trap();
    if (!graph->put_twin("station-1", station, {}, {true})) __builtin_trap();
    if (!graph->put_relationship("station-1", "p1",
                                 nlohmann::json{{"$relationshipName", "hasPump"}, {"$targetId", "pump-1"}}, {})) {
      __builtin_trap();
    }
    // History for the history routes: two hours of speed, sealed (with tiers), and a head.
    std::vector<doppel::ts::sample> points;
    for (int k = 0; k < 7200; ++k) {
      doppel::ts::sample p;
      p.twin = "pump-1";
      p.name = "speed";
      p.time_ns = (1764064800LL + k) * 1000000000LL;
      p.f = 1450 + (k % 17) * 0.5;
      points.push_back(p);
      if (k == 3600) {
        if (!history->append(0, points) || !history->checkpoint()) __builtin_trap();
        points.clear();
      }
    }
    if (!history->append(0, points)) __builtin_trap();
  }
};

world& the_world() {
  static world w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  world& w = the_world();
  std::string text(reinterpret_cast<const char*>(data), size);
  doppel::api::request req;
  std::size_t pos = size > 0 ? 1 : 0;  // byte 0 only chooses the token
  auto line = [&]() {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(pos, end - pos);
    pos = end < text.size() ? end + 1 : end;
    return l;
  };
  req.method = line();
  req.target = line();
  for (std::string h = line(); !h.empty() && pos < text.size(); h = line()) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = h.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    req.headers.emplace_back(std::move(name), std::move(value));
  }
  req.body = text.substr(pos);
  if (size > 0 && (data[0] & 1)) req.headers.emplace_back("authorization", "Bearer " + w.token);

  std::promise<doppel::api::response> answered;
  auto future = answered.get_future();
  int calls = 0;
  w.routes->handle(std::move(req), [&](doppel::api::response r) {
    if (++calls != 1) __builtin_trap();  // answered twice
    answered.set_value(std::move(r));
  });
  doppel::api::response r = future.get();
  static const unsigned known[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413, 422, 426, 429, 500, 503};
  bool ok = false;
  for (unsigned k : known) ok = ok || r.status == k;
  if (!ok || r.status == 500) __builtin_trap();
  if (r.content_type == "application/json" && r.status != 204) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) __builtin_trap();
    if (r.status >= 400 && (!j.contains("error") || !j["error"]["code"].is_string())) __builtin_trap();
  }
  return 0;
}
