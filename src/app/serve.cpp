#include "app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "api/events.h"
#include "api/router.h"
#include "api/routes.h"
#include "api/server.h"
#include "api/static_files.h"
#include "app/live_bindings.h"
#include "app/project.h"
#include "core/clock.h"
#include "core/prometheus.h"
#include "core/text.h"
#include "ingest/broker_auth.h"
#include "ingest/dead_letters.h"
#include "ingest/managed_broker.h"
#include "ingest/mqtt_connector.h"
#include "ingest/pipeline.h"
#include "ingest/reading_counter.h"
#include "sim/scenario.h"
#include "store/metadata_store.h"
#include "twin/event_bus.h"
#include "twin/graph.h"

namespace doppel::app {

namespace fs = std::filesystem;

namespace {

// `name` in the folder of the running binary (build/bin/web for build/bin/doppel); empty when
// the binary's path cannot be read.
fs::path beside_binary(const std::string& name) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path() / name;
}

// Adds the declared twins and relationships the graph does not hold yet. Twins changed through
// the API since are left as they are: the store, not the file, is the live state.
std::size_t add_declared(twin::twin_graph& graph, const std::vector<twin::declared_file>& files, std::ostream& err,
                         bool& failed) {
  std::size_t added = 0;
  twin::condition create_only;
  create_only.if_none_match_any = true;
  auto each = [&](const char* key, auto&& fn) {
    for (const auto& f : files) {
      const nlohmann::json* list = nullptr;
      if (f.content.is_array() && std::string_view(key) == "twins") list = &f.content;
      if (f.content.is_object() && f.content.contains(key)) list = &f.content[key];
      if (!list) continue;
      for (const auto& item : *list) fn(f, item);
    }
  };
  auto report = [&](const twin::declared_file& f, const std::string& id, const status& s) {
    if (s || s.code() == status_code::precondition_mismatch) return;  // mismatch: it exists already
    err << f.name << ": cannot add " << id << ": " << s.message() << "\n";
    failed = true;
  };
  each("twins", [&](const twin::declared_file& f, const nlohmann::json& t) {
    std::string id = t["$dtId"].get<std::string>();
    auto r = graph.put_twin(id, t, create_only, {true});
    report(f, id, r ? status::ok() : r.error());
    if (r) ++added;
  });
  each("relationships", [&](const twin::declared_file& f, const nlohmann::json& b) {
    std::string source = b["$sourceId"].get<std::string>();
    std::string id = b.contains("$relationshipId") ? b["$relationshipId"].get<std::string>()
                                                   : b.value("$relationshipName", "") + "-" + b.value("$targetId", "");
    auto r = graph.put_relationship(source, id, b, create_only);
    report(f, source + "/" + id, r ? status::ok() : r.error());
    if (r) ++added;
  });
  return added;
}

// Starts the managed broker (unless the project names its own, or none) and the MQTT connector.
status start_mqtt(const serve_options& o, const project_config& cfg, const std::filesystem::path& data,
                  ingest::telemetry_pipeline& pipeline, ingest::dead_letters& letters,
                  std::unique_ptr<ingest::managed_broker>& broker, std::unique_ptr<ingest::mqtt_connector>& mqtt,
                  std::ostream& out) {
  const mqtt_config& m = cfg.mqtt;
  std::string url = o.mqtt.empty() ? m.broker : o.mqtt;
  if (url == "off") return status::ok();
  auto rules = ingest::mapper::compile(m.topics);
  if (!rules) return rules.error();
  std::string broker_user, broker_password, client_suffix;
  if (url == "managed") {
    ingest::broker_options bo;
    bo.host = m.host;
    bo.port = m.port;
    if (!o.mqtt_listen.empty() && !parse_listen(o.mqtt_listen, bo.host, bo.port)) {
      return status::invalid_argument("--mqtt-listen " + o.mqtt_listen + " must be HOST:PORT, e.g. 127.0.0.1:1883");
    }
    bo.dir = data / "mosquitto";
    bo.devices_file = data / "mqtt-devices.json";
    bo.publish_filters = rules->filters();
    bo.max_packet_bytes = m.max_packet_bytes;
    auto b = ingest::managed_broker::start(bo);
    if (!b) {
      // The API is the server's main job: without a broker it still serves, and says why.
      out << "mqtt: no managed broker: " << b.error().message() << "; serving without MQTT" << std::endl;
      return status::ok();
    }
    broker = std::move(*b);
    url = broker->url();
    broker_user = broker->username();
    broker_password = broker->password();
    client_suffix = "-" + broker->client_suffix();
    out << "mqtt broker on " << url << std::endl;
    if (auto devices = ingest::list_devices(bo.devices_file); devices && devices->empty()) {
      out << "mqtt: no devices may publish yet: add one with `doppel device add " << o.dir
          << " --name NAME` (it prints the password; the broker sees it at once)" << std::endl;
    }
  } else if (!url.starts_with("mqtt://") && !url.starts_with("mqtts://")) {
    return status::invalid_argument("--mqtt must be managed, off or mqtt://HOST:PORT, not " + url);
  }
  ingest::mqtt_options mo;
  mo.url = url;
  mo.version = m.version;
  mo.client_id = (m.client_id.empty() ? "doppel-" + cfg.name : m.client_id) + client_suffix;
  mo.username = broker ? broker_user : m.username;
  mo.password = broker ? broker_password : m.password;
  if (!broker && !m.password_env.empty()) {
    const char* p = std::getenv(m.password_env.c_str());
    if (!p) return status::invalid_argument("mqtt.password_env names " + m.password_env + ", which is not set");
    mo.password = p;
  }
  mo.qos = m.qos;
  mo.keepalive_s = static_cast<std::uint16_t>(m.keepalive_s);
  mo.session_expiry_s = m.session_expiry_s;
  mo.max_packet_bytes = m.max_packet_bytes;
  mo.reconnect_min = std::chrono::milliseconds(m.reconnect_min_ms);
  mo.reconnect_max = std::chrono::milliseconds(m.reconnect_max_ms);
  mo.max_inflight_out = static_cast<std::uint16_t>(m.max_inflight_out);
  mo.out_queue_messages = m.out_queue_messages;
  mo.out_queue_bytes = m.out_queue_bytes;
  auto project_file = [&](const std::string& f) { return f.empty() ? f : (std::filesystem::path(o.dir) / f).string(); };
  mo.ca_file = project_file(m.ca);
  mo.cert_file = project_file(m.cert);
  mo.key_file = project_file(m.key);
  mo.insecure = m.insecure;
  auto filters = rules->filters();
  mqtt = std::make_unique<ingest::mqtt_connector>(std::move(mo), std::move(*rules), pipeline, letters);
  if (auto s = mqtt->start(); !s) return s;
  std::string list;
  for (const auto& f : filters) list += (list.empty() ? "" : ", ") + f;
  // A new session only gets what is published after it subscribed: wait for that (a while)
  // before saying the server is ready, so that a device starting with it loses nothing.
  for (int k = 0; k < 250 && !mqtt->subscribed(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (mqtt->subscribed()) {
    out << "mqtt: subscribed to " << list << " on " << url << std::endl;
  } else {
    out << "mqtt: not connected to " << url << " yet (" << mqtt->health().value("lastError", "no answer")
        << "); retrying in the background" << std::endl;
  }
  return status::ok();
}

}  // namespace

std::string data_folder(const std::string& dir, const std::string& data) {
  return data.empty() ? (fs::path(dir) / ".doppel").string() : data;
}

int cmd_token_create(const std::string& dir, const std::string& data, const std::string& role_name,
                     const std::string& name, std::ostream& out, std::ostream& err) {
  auto r = api::parse_role(role_name);
  if (!r) {
    err << "doppel token create: --role must be viewer, operator or admin\n";
    return 2;
  }
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "doppel.yaml", ec)) {
    err << "doppel token create: " << dir << " is not a project folder (no doppel.yaml)\n";
    return 1;
  }
  auto token = api::create_token(fs::path(data_folder(dir, data)) / "tokens.json", name, *r);
  if (!token) {
    err << "doppel token create: " << token.error().message() << "\n";
    return 1;
  }
  out << *token << "\n";
  return 0;
}

int cmd_token_list(const std::string& dir, const std::string& data, std::ostream& out, std::ostream& err) {
  auto tokens = api::list_tokens(fs::path(data_folder(dir, data)) / "tokens.json");
  if (!tokens) {
    err << "doppel token list: " << tokens.error().message() << "\n";
    return 1;
  }
  for (const auto& t : *tokens) out << t.name << "\t" << api::to_string(t.level) << "\n";
  return 0;
}

int cmd_token_revoke(const std::string& dir, const std::string& data, const std::string& name, std::ostream& out,
                     std::ostream& err) {
  if (status s = api::revoke_token(fs::path(data_folder(dir, data)) / "tokens.json", name); !s) {
    err << "doppel token revoke: " << s.message() << "\n";
    return 1;
  }
  out << "revoked " << name << "\n";
  return 0;
}

int cmd_serve(const serve_options& o, std::ostream& out, std::ostream& err) {
  // Signals are taken by sigwait below; block them before any thread starts so none gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  model::model_registry registry;
  validate_targets t;
  t.projects.push_back(o.dir);
  std::vector<project_config> configs;
  std::vector<twin::declared_file> declared;
  project_report r = load_projects(t, registry, &configs, &declared);
  for (const auto& e : r.errors) err << e << "\n";
  if (!r.ok()) {
    err << "doppel serve: the project has " << r.errors.size() << " error(s); fix them and run again\n";
    return 1;
  }
  const project_config& cfg = configs.front();
  api::server_options so;
  so.host = cfg.api.host;
  so.port = cfg.api.port;
  so.threads = o.threads;
  so.max_body_bytes = cfg.api.max_body_bytes;
  so.max_queued_bytes = cfg.api.connection_queue_bytes;
  so.max_connections = cfg.api.max_connections;
  so.max_connections_per_token = cfg.api.max_connections_per_token;
  so.max_unauthenticated = cfg.api.max_unauthenticated;
  if (!cfg.api.tls_cert.empty()) so.tls_cert = (fs::path(o.dir) / cfg.api.tls_cert).string();
  if (!cfg.api.tls_key.empty()) so.tls_key = (fs::path(o.dir) / cfg.api.tls_key).string();
  if (!o.listen.empty() && !parse_listen(o.listen, so.host, so.port)) {
    err << "doppel serve: --listen " << o.listen << " must be HOST:PORT, e.g. 127.0.0.1:8080\n";
    return 2;
  }
  // The web app (api/static_files.h): a folder the project names, or the one installed beside
  // the binary; none leaves GET / to the API (a 404).
  std::optional<api::static_files> web;
  if (cfg.api.web_root != "off") {
    fs::path folder = cfg.api.web_root.empty() ? beside_binary("web") : fs::path(o.dir) / cfg.api.web_root;
    std::error_code web_ec;
    if (!cfg.api.web_root.empty() || (!folder.empty() && fs::is_directory(folder, web_ec))) {
      auto opened = api::static_files::open(folder);
      if (!opened) {
        err << "doppel serve: " << opened.error().message() << "\n";
        return 1;
      }
      web.emplace(std::move(*opened));
    }
  }
  fs::path data = data_folder(o.dir, o.data);
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) {
    err << "doppel serve: cannot create the data folder " << data.string() << ": " << ec.message() << "\n";
    return 1;
  }
  // One server per data folder: two would both write the database and each serve a stale graph.
  int lock_fd = ::open((data / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    err << "doppel serve: another doppel serve uses the data folder " << data.string()
        << "; stop it, or give this one its own --data\n";
    if (lock_fd >= 0) ::close(lock_fd);
    return 1;
  }
  store::store_options sto;
  sto.max_bytes = cfg.store.max_bytes;
  if (cfg.store.checkpoint_interval_ms > 0) sto.checkpoint_interval_ms = cfg.store.checkpoint_interval_ms;
  auto store = store::metadata_store::open(data / "doppel.db", sto);
  if (!store) {
    err << "doppel serve: " << store.error().message() << "\n";
    return 1;
  }
  auto graph = twin::twin_graph::open(registry, **store);
  if (!graph) {
    err << "doppel serve: " << graph.error().message() << "\n";
    return 1;
  }
  // Declarations are applied when they changed since the last start (or on the first), so a
  // twin deleted through the API does not come back at every restart.
  std::string digest_input;
  for (const auto& f : declared) digest_input += f.name + '\n' + f.content.dump() + '\n';
  std::string digest = api::sha256_hex(digest_input);
  std::size_t added = 0;
  if (status h = (*graph)->health(); !h) {
    // Read-only until restarted with room: declarations wait for then (reads and /healthz work).
    err << "doppel serve: starting read-only: " << h.message() << "\n";
  } else if ((*store)->setting("declarations.sha256") != digest) {
    bool failed = false;
    added = add_declared(**graph, declared, err, failed);
    if (failed) {
      err << "doppel serve: declared twins could not be added; fix them and run again\n";
      return 1;
    }
    store::write w;
    w.kind = store::write::op::put_setting;
    w.twin.id = "declarations.sha256";
    w.twin.body = digest;
    if (status s = (*store)->apply({std::move(w)}); !s) {
      err << "doppel serve: " << s.message() << "\n";
      return 1;
    }
  }
  api::token_store tokens(data / "tokens.json");
  if (status s = tokens.load(); !s) {
    err << "doppel serve: " << s.message() << "\n";
    return 1;
  }
  // Change events: the graph and the pipeline publish on the bus once a change is durable; the
  // WebSocket hub is one subscriber. Both outlive the publishers (reset below, before return).
  twin::event_bus bus;
  api::event_hub hub(bus, registry, 1024, cfg.api.events_queue_bytes);
  (*graph)->set_listener([&bus](const twin::change_event& e) { bus.publish(e); }, [&bus] { return bus.wanted(); });
  api::api_options ao;
  ao.cors_origins = cfg.api.cors_origins;
  ao.rate_per_second = cfg.api.rate_limit;
  ao.rate_burst = cfg.api.rate_burst;
  ao.max_body_bytes = cfg.api.max_body_bytes;
  ao.query_workers = cfg.api.query_workers;
  ao.query_queue = cfg.api.query_queue;
  ao.queries_per_token = cfg.api.queries_per_token;
  ao.query_max_work = cfg.api.query_max_work;
  ao.enforce_writable = cfg.api.enforce_writable;
  ingest::dead_letters letters(cfg.ingest.dead_letters, cfg.ingest.dead_letter_bytes);
  if (status s = letters.open(data / "deadletters.db"); !s) {
    err << "doppel serve: " << s.message() << "\n";
    return 1;
  }
  // Telemetry history: one log writer per pipeline shard, replayed here.
  int shards = ingest::telemetry_pipeline::shard_count(cfg.ingest.shards);
  ts::history_options ho;
  ho.dir = data / "history";
  ho.writers = shards;
  const app::history_config& hc = cfg.history;
  if (hc.retention_ns > 0 || !hc.retention_by_model.empty()) {
    ho.retention = [&hc, g = graph->get()](std::string_view twin) -> std::int64_t {
      if (const model::interface* m = g->model_of(std::string(twin))) {
        auto it = hc.retention_by_model.find(m->id);
        if (it != hc.retention_by_model.end()) return it->second;
      }
      return hc.retention_ns;
    };
  }
  auto history = ts::history::open(std::move(ho));
  if (!history) {
    err << "doppel serve: " << history.error().message() << "\n";
    return 1;
  }
  std::optional<ingest::telemetry_pipeline> pipeline;
  ingest::pipeline_options po{shards, cfg.ingest.queue_readings, history->get(), hc.late_window_ns, {}};
  for (const auto& e : cfg.ingest.device_reported) po.device_reported.emplace_back(e.model, e.name);
  // Stages on the shard threads (stage.h), for every twin; the counter is the first of them.
  auto readings_counted = std::make_shared<ingest::reading_counter>();
  po.stages.push_back({readings_counted, ""});
  // Live simulations (sim/live.h): a stage per simulation.live entry, for its model's twins.
  // load_projects bound them once already, so an error here means the files changed meanwhile.
  auto live_board = std::make_shared<sim::live_board>();
  app::live_bindings live = app::bind_live_simulations(o.dir, cfg.simulation, registry);
  if (!live.errors.empty()) {
    err << "doppel serve: " << format(live.errors.front()) << "\n";
    return 1;
  }
  for (const auto& b : live.bindings) {
    po.stages.push_back({std::make_shared<sim::live_simulation>(**graph, b, live_board), b->spec.model});
  }
  pipeline.emplace(**graph, letters, std::move(po));
  pipeline->set_listener([&bus](const twin::change_event& e) { bus.publish(e); },
                         [&bus] { return bus.wanted(twin::event_kind::twin_telemetry); });
  api::router routes(tokens, ao);
  // The route areas, in table order (api/routes.h); a new layer adds its area's call here.
  api::add_system_routes(routes, **graph, **history);
  api::add_model_routes(routes, **graph, registry);
  api::add_query_routes(routes, **graph);
  api::add_twin_routes(routes, **graph);
  api::add_history_routes(routes, **graph, **history);
  api::add_export_routes(routes, **graph, **history);
  api::add_telemetry_routes(routes, *pipeline, letters, **graph);
  api::add_simulation_routes(routes, **graph, **history, live.bindings, live_board,
                             [clock = real_clock()] { return clock->now(); });
  // What-if scenarios, kept in DATA/scenarios (sim/scenario.h).
  auto scenarios = sim::scenario_store::open(data / "scenarios");
  if (!scenarios) {
    err << "doppel serve: " << scenarios.error().message() << "\n";
    return 1;
  }
  api::add_scenario_routes(routes, **graph, **history,
                           {live.bindings, live_board, std::shared_ptr<sim::scenario_store>(std::move(*scenarios)),
                            [clock = real_clock()] { return clock->now(); }});
  api::add_event_routes(routes);
  if (web) {
    routes.set_static_files([&web](const api::request& req, std::string_view path) { return web->serve(req, path); });
  }
  routes.add_metrics_source([&bus, &hub](std::string& text) {
    bus.render_metrics(text);
    hub.render_metrics(text);
  });
  routes.add_metrics_source([&](std::string& text) {
    pipeline->render_metrics(text);
    letters.render_metrics(text);
    ts::history_stats hs = (*history)->stats();
    prometheus::writer w(text);
    w.gauge("doppel_history_series", "Telemetry series with history.", hs.series);
    w.gauge("doppel_history_points", "Points held in the history heads.", hs.points);
    w.gauge("doppel_history_log_bytes", "Bytes in the history write-ahead logs.", hs.log_bytes);
    w.counter("doppel_history_syncs_total", "fdatasync calls of the history logs.", hs.syncs);
    w.gauge("doppel_history_sealed_points", "Points in compressed chunks.", hs.sealed_points);
    w.gauge("doppel_history_chunk_bytes", "Bytes of the compressed chunks.", hs.chunk_bytes);
    w.counter("doppel_history_checkpoints_total", "Checkpoints that sealed heads into chunks.", hs.checkpoints);
  });
  routes.add_metrics_source([live_board](std::string& text) { live_board->render_metrics(text); });
  routes.add_metrics_source([&store = **store](std::string& text) {
    store::store_stats st = store.stats();
    prometheus::writer w(text);
    w.counter("doppel_store_commits_total", "Metadata store transactions (group commits).", st.commits);
    w.counter("doppel_store_writes_total", "Durable write requests (several share a commit).", st.requests);
    w.counter("doppel_store_commit_seconds_total", "Time in store transactions, fsync included.", st.commit_seconds);
    w.gauge("doppel_store_queue", "Write requests waiting for the next transaction.", st.queued);
  });
  // MQTT: the managed broker (or the project's), and the connector subscribed to it.
  std::unique_ptr<ingest::managed_broker> broker;
  std::unique_ptr<ingest::mqtt_connector> mqtt;
  if (auto s = start_mqtt(o, cfg, data, *pipeline, letters, broker, mqtt, out); !s) {
    err << "doppel serve: " << s.message() << "\n";
    return 1;
  }
  if (mqtt) {
    routes.add_metrics_source([&mqtt](std::string& text) { mqtt->render_metrics(text); });
    routes.add_health_source([&mqtt] { return mqtt->health(); });
  }
  auto server = api::server::start(routes, hub, so);
  if (!server) {
    err << "doppel serve: " << server.error().message() << "\n";
    return 1;
  }
  {
    ts::history_stats hs = (*history)->stats();
    if (hs.replayed || hs.torn_bytes) {
      out << "history: " << hs.replayed << " point(s) of " << hs.series << " series replayed in " << hs.replay_seconds
          << " s" << (hs.torn_bytes ? " (a torn log end of " + std::to_string(hs.torn_bytes) + " bytes cut off)" : "")
          << "\n";
    }
    for (const std::string& line : (*history)->recovery().describe()) err << line << "\n";
  }
  out << "project " << cfg.name << ": " << r.interfaces << " interface(s), " << (*graph)->twin_count() << " twin(s) ("
      << added << " twins and relationships added from twins/), data in " << data.string() << "\n";
  if (tokens.size() == 0) {
    out << "no API tokens yet: create one with `doppel token create " << o.dir
        << " --role admin --name me` (the server sees it at once)\n";
  }
  if (web) out << "web app: " << web->root().string() << " served at /\n";
  out << "listening on " << (*server)->url() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  out << "doppel serve: " << (sig == SIGINT ? "interrupted" : "terminated") << ", stopping" << std::endl;
  (*server)->stop();
  (*server)->wait();
  routes.stop_queries();  // their answers go to the server's connections: before it goes
  // The graph goes before the event bus and hub (declared after it): its destructor waits for
  // queued writes, whose completions still publish there. The pipeline, which writes to the
  // graph and publishes on the bus, goes before the graph.
  // The connector stops taking messages and acknowledges what the pipeline finished; then the
  // pipeline drains; the broker keeps the rest for the next start.
  if (mqtt) mqtt->stop();
  pipeline.reset();
  broker.reset();
  graph->reset();
  ::close(lock_fd);
  return 0;
}

}  // namespace doppel::app
