#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <ostream>
#include <sstream>

#include "app/devices.h"
#include "app/fmu_cli.h"
#include "app/project.h"
#include "app/remote.h"
#include "app/serve.h"
#include "app/sim_files.h"
#include "app/transfer.h"

namespace doppel::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_about =
    "Doppel: a digital twin engine. It keeps a live, queryable replica of physical assets,\n"
    "modelled in DTDL. Run `doppel COMMAND --help` for the options of each command.";

void print_model_list(const model::model_registry& registry, std::ostream& out) {
  for (const model::interface* i : registry.list()) {
    std::size_t own = i->own_contents.size();
    out << i->id << "  (DTDL v" << static_cast<int>(i->version) << ", " << own << " own + "
        << (i->contents.size() - own) << " inherited contents)";
    auto deps = registry.dependencies(i->id);
    if (!deps.empty()) {
      out << "\n    depends on:";
      for (const auto& d : deps) out << " " << d;
    }
    out << "\n";
  }
}

int cmd_validate(const std::vector<std::string>& paths, const std::string& format, bool list,
                 bool allow_unknown_extensions, std::ostream& out) {
  std::vector<fs::path> ps(paths.begin(), paths.end());
  model::model_registry registry(model::registry_options{allow_unknown_extensions});
  project_report r = load_projects(classify_paths(ps), registry);
  if (format == "json") {
    nlohmann::json j;
    j["ok"] = r.ok();
    j["modelFiles"] = r.model_files;
    j["interfaces"] = r.interfaces;
    j["twins"] = r.twins;
    j["relationships"] = r.relationships;
    std::vector<model::diagnostic> diags = r.model_errors;
    diags.insert(diags.end(), r.twin_errors.begin(), r.twin_errors.end());
    j["errors"] = nlohmann::json::parse(model::to_json(diags));
    for (const auto& e : r.config_errors) {
      j["errors"].push_back({{"file", e.file},
                             {"path", ""},
                             {"line", e.line},
                             {"column", e.column},
                             {"message", e.message},
                             {"hint", ""}});
    }
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return r.ok() ? 0 : 1;
  }
  for (const auto& e : r.errors) out << e << "\n";
  if (!r.ok()) {
    out << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors") << " found; nothing was loaded\n";
    return 1;
  }
  if (list) print_model_list(registry, out);
  out << "ok: " << r.interfaces << " interface(s) in " << r.model_files << " model file(s) are valid\n";
  if (r.sim_models) out << "ok: " << r.sim_models << " equation model(s) in sim/ are valid\n";
  if (r.live_bindings) out << "ok: " << r.live_bindings << " live simulation binding(s) are valid\n";
  if (r.twin_files) {
    out << "ok: " << r.twins << " twin(s) and " << r.relationships << " relationship(s) in " << r.twin_files
        << " twin file(s) are valid\n";
  }
  return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{k_about, "doppel"};
  app.set_version_flag("--version", std::string("doppel ") + DOPPEL_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  std::string init_dir, init_name;
  auto* init = app.add_subcommand("init", "Create a project folder with doppel.yaml, models/ and twins/");
  init->add_option("DIR", init_dir, "Folder to create the project in (created if missing)")->required();
  init->add_option("--name", init_name, "Project name (default: the folder's name)");

  std::vector<std::string> validate_paths;
  std::string format = "text";
  bool list = false;
  bool allow_unknown = false;
  auto* validate = app.add_subcommand("validate", "Check projects and DTDL models; exit 1 with every error listed");
  validate->footer(
      "Each PATH is a project folder (with doppel.yaml), a doppel.yaml, a DTDL file or a folder of them.\n"
      "All models given are loaded together, so references may cross files, in any order.");
  validate->add_option("PATH", validate_paths, "Project folder, doppel.yaml, model file or folder of models")
      ->required();
  validate->add_option("--format", format, "Output: text (default) or json")->check(CLI::IsMember({"text", "json"}));
  validate->add_flag("--list", list, "After a successful check, list each interface and what it depends on");
  validate->add_flag("--allow-unknown-extensions", allow_unknown,
                     "Accept DTDL extension contexts Doppel does not know, and tolerate their terms");

  serve_options so;
  auto* serve = app.add_subcommand("serve", "Serve a project's twin graph over the HTTP + WebSocket API");
  serve->add_option("DIR", so.dir, "Project folder (holding doppel.yaml)")->required();
  serve->add_option("--listen", so.listen,
                    "HOST:PORT to listen on (default: doppel.yaml's api.listen, 127.0.0.1:8080)");
  serve->add_option("--data", so.data, "Folder for the database and tokens (default: DIR/.doppel)");
  serve->add_option("--mqtt", so.mqtt,
                    "MQTT broker: managed (start Mosquitto), off, or mqtt://HOST:PORT (default: doppel.yaml's "
                    "mqtt.broker, managed)");
  serve->add_option(
      "--mqtt-listen", so.mqtt_listen,
      "HOST:PORT of the managed broker (default: doppel.yaml's mqtt.listen, 127.0.0.1:1883; port 0: any)");
  serve->add_option("--threads", so.threads, "I/O threads (default: half the cores, at least 1)")
      ->check(CLI::Range(1, 64));
  serve->footer("Prints `listening on http://HOST:PORT` when ready; stops on Ctrl-C or SIGTERM.");

  std::string token_dir, token_data, token_role, token_name;
  auto* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create a token and print it (shown only this once)");
  token_create->add_option("DIR", token_dir, "Project folder")->required();
  token_create->add_option("--role", token_role, "viewer (read), operator (read, desired state), admin (everything)")
      ->required()
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
  token_create->add_option("--name", token_name, "A name for the token, unique in the project")->required();
  token_create->add_option("--data", token_data, "The server's data folder (default: DIR/.doppel)");
  auto* token_list = token->add_subcommand("list", "List the tokens' names and roles (secrets are not kept)");
  token_list->add_option("DIR", token_dir, "Project folder")->required();
  token_list->add_option("--data", token_data, "The server's data folder (default: DIR/.doppel)");
  auto* token_revoke = token->add_subcommand("revoke", "Remove a token; a running server refuses it within a second");
  token_revoke->add_option("DIR", token_dir, "Project folder")->required();
  token_revoke->add_option("--name", token_name, "The token's name")->required();
  token_revoke->add_option("--data", token_data, "The server's data folder (default: DIR/.doppel)");

  std::string device_dir, device_data, device_name;
  std::vector<std::string> device_twins;
  auto* device = app.add_subcommand("device", "Manage device credentials for the managed MQTT broker");
  device->require_subcommand(1);
  auto* device_add = device->add_subcommand(
      "add", "Register a device and print its MQTT password (shown only this once); user name = --name");
  device_add->add_option("DIR", device_dir, "Project folder")->required();
  device_add->add_option("--name", device_name, "The device's MQTT user name, unique in the project")->required();
  device_add->add_option("--twin", device_twins,
                         "A twin it may publish telemetry for (repeatable); none: a fleet credential, any twin");
  device_add->add_option("--data", device_data, "The server's data folder (default: DIR/.doppel)");
  device_add->footer(
      "Example: mosquitto_pub -p 1883 -u NAME -P PASSWORD -q 1 -t doppel/twins/pump-1/telemetry -m '{\"speed\": 1}'");
  auto* device_list = device->add_subcommand("list", "List the devices and their twins (* for a fleet credential)");
  device_list->add_option("DIR", device_dir, "Project folder")->required();
  device_list->add_option("--data", device_data, "The server's data folder (default: DIR/.doppel)");
  auto* device_remove =
      device->add_subcommand("remove", "Remove a device; a running server's broker refuses it within seconds");
  device_remove->add_option("DIR", device_dir, "Project folder")->required();
  device_remove->add_option("--name", device_name, "The device's name")->required();
  device_remove->add_option("--data", device_data, "The server's data folder (default: DIR/.doppel)");

  remote_options ro;
  auto remote_flags = [&ro](CLI::App* cmd) {
    cmd->add_option("--server", ro.server, "Server URL (default: $DOPPEL_URL or http://127.0.0.1:8080)");
    cmd->add_option("--token", ro.token, "API token (default: $DOPPEL_TOKEN)");
    cmd->add_option("--cacert", ro.ca_file,
                    "https: trust this CA certificate (PEM; default: $DOPPEL_CACERT or the system's)");
    cmd->add_flag("--insecure", ro.insecure, "https: accept any certificate (a throwaway self-signed one)");
  };
  std::string twin_id, twin_body;
  auto* twin = app.add_subcommand("twin", "Read and change twins on a running server");
  twin->require_subcommand(1);
  auto* twin_get = twin->add_subcommand("get", "Print a twin");
  twin_get->add_option("ID", twin_id, "Twin id")->required();
  remote_flags(twin_get);
  auto* twin_patch = twin->add_subcommand("patch", "Apply a JSON Patch to a twin and print the result");
  twin_patch->add_option("ID", twin_id, "Twin id")->required();
  twin_patch
      ->add_option("PATCH", twin_body, R"(JSON Patch, e.g. '[{"op":"replace","path":"/targetSpeed","value":1500}]')")
      ->required();
  remote_flags(twin_patch);
  auto* twin_rels = twin->add_subcommand("relationships", "Print the relationships from a twin");
  twin_rels->add_option("ID", twin_id, "Twin id")->required();
  remote_flags(twin_rels);
  auto* twin_desired = twin->add_subcommand("desired", "Print a twin's desired and reported state and their delta");
  twin_desired->add_option("ID", twin_id, "Twin id")->required();
  remote_flags(twin_desired);
  auto* twin_telemetry =
      twin->add_subcommand("telemetry", "Print the latest value and time of each telemetry a twin sent");
  twin_telemetry->add_option("ID", twin_id, "Twin id")->required();
  remote_flags(twin_telemetry);

  std::string scenario_id, scenario_file, scenario_with;
  bool scenario_series = false;
  auto* scenario = app.add_subcommand("scenario", "What-if scenarios on a running server (docs/simulation.md)");
  scenario->require_subcommand(1);
  auto* scenario_create =
      scenario->add_subcommand("create", "Run a scenario (a POST /scenarios body read from FILE, - for stdin)");
  scenario_create->add_option("FILE", scenario_file, "JSON: {\"id\", \"horizon\", \"schedule\", \"sweep\", ...}")
      ->required();
  remote_flags(scenario_create);
  auto* scenario_list = scenario->add_subcommand("list", "List the scenarios kept");
  remote_flags(scenario_list);
  auto* scenario_get = scenario->add_subcommand("get", "Print a scenario");
  scenario_get->add_option("ID", scenario_id, "Scenario id")->required();
  scenario_get->add_flag("--series", scenario_series, "With every series");
  remote_flags(scenario_get);
  auto* scenario_compare =
      scenario->add_subcommand("compare", "Compare a scenario with another or with reality (the history)");
  scenario_compare->add_option("ID", scenario_id, "Scenario id")->required();
  scenario_compare->add_option("--with", scenario_with, "Another scenario's id, or reality")->required();
  remote_flags(scenario_compare);
  auto* scenario_delete = scenario->add_subcommand("delete", "Remove a scenario");
  scenario_delete->add_option("ID", scenario_id, "Scenario id")->required();
  remote_flags(scenario_delete);

  std::string query_text, query_token;
  std::size_t query_page = 0;
  auto* query = app.add_subcommand("query", "Run a query (docs/query.md) on a running server and print the page");
  query->add_option("QUERY", query_text, "e.g. \"SELECT * FROM DIGITALTWINS T WHERE T.targetSpeed > 1000\"")
      ->required();
  query->add_option("--continuation", query_token, "The continuationToken of the previous page");
  query->add_option("--page-size", query_page, "Rows per page (default 100)");
  remote_flags(query);
  auto* twin_list = twin->add_subcommand("list", "List twins (ids and models), optionally of one model");
  std::string list_model;
  twin_list->add_option("--model", list_model, "Only twins of this model or of models extending it (a DTMI)");
  remote_flags(twin_list);

  export_options eo;
  auto* export_cmd =
      app.add_subcommand("export", "Write the telemetry history of a running server as line protocol or CSV");
  export_cmd->add_option("--format", eo.format, "lp (InfluxDB line protocol, default) or csv")
      ->check(CLI::IsMember({"lp", "csv"}));
  export_cmd->add_option("--from", eo.from, "Points from this time on (RFC 3339 or Unix ms; default: the first)");
  export_cmd->add_option("--to", eo.to, "Points before this time (RFC 3339 or Unix ms; default: the last)");
  export_cmd->add_option("--twin", eo.twins, "Only this twin (repeatable; default: every twin)");
  export_cmd->add_option("-o,--output", eo.output, "Write to this file (default: standard output)");
  export_cmd->add_option("--page-size", eo.page_size, "Points per request (default 100000)")
      ->check(CLI::Range(1, 1000000));
  export_cmd->footer(
      "Follows the server's pages (GET /telemetry/export) and writes them as one file; a viewer "
      "token is enough.\nExample: doppel export --format csv --from 2026-11-01T00:00:00Z -o history.csv");
  remote_flags(export_cmd);

  import_options io;
  auto* import_cmd = app.add_subcommand(
      "import", "Send telemetry history (line protocol or CSV, as export writes) to a running server");
  import_cmd->add_option("FILE", io.files, "Files to send; - reads standard input")->required();
  import_cmd->add_option("--format", io.format, "lp or csv (default: from the extension: .lp, .txt, .csv)")
      ->check(CLI::IsMember({"lp", "csv"}));
  import_cmd->add_option("--batch-size", io.batch_lines, "Points per request (default 5000)")
      ->check(CLI::Range(1, 100000));
  import_cmd->add_option("--precision", io.precision, "Unit of line-protocol times: ns (default), us, ms, s, m, h")
      ->check(CLI::IsMember({"ns", "us", "ms", "s", "m", "h"}));
  import_cmd->footer(
      "Posts line protocol to /write (CSV rows are converted first); needs an operator token.\n"
      "Prints how many points were sent, accepted and refused; exit 1 if any was refused.");
  remote_flags(import_cmd);

  auto* fmu = app.add_subcommand("fmu", "Inspect and run FMUs (FMI 2.0 and 3.0, co-simulation and model exchange)");
  fmu->require_subcommand(1);
  std::string fmu_file;
  auto* fmu_info = fmu->add_subcommand("info", "Print an FMU's FMI version, kinds, default experiment and variables");
  fmu_info->add_option("FILE", fmu_file, "The .fmu file")->required();
  fmu_run_options fro;
  auto* fmu_run = fmu->add_subcommand(
      "run", "Run an FMU (co-simulation, or model exchange integrated by Doppel) and write its outputs as CSV");
  fmu_run->add_option("FILE", fro.file, "The .fmu file")->required();
  fmu_run->add_option("--output", fro.output, "CSV file to write (default: standard output)");
  fmu_run->add_option("--input", fro.input, "CSV of inputs over time: time,NAME,... (held between rows)");
  fmu_run->add_option("--start-time", fro.start_time, "Start time in s (default: the FMU's default experiment, or 0)");
  fmu_run->add_option("--stop-time", fro.stop_time, "Stop time in s (default: the FMU's default experiment)");
  fmu_run->add_option("--step-size", fro.step_size, "Communication step in s (default: the FMU's default experiment)");
  fmu_run->add_option("--kind", fro.kind, "cs or me: which part of the FMU to run (default: cs when it has one)")
      ->check(CLI::IsMember({"cs", "me"}));
  fmu_run->add_option("--tolerance", fro.tolerance,
                      "Relative tolerance (default: the FMU's default experiment; model exchange: else 1e-6)");
  fmu_run->add_option("--set", fro.sets, "NAME=VALUE: a parameter or input set before initialization (repeatable)");
  fmu_run->add_option("--timeout", fro.timeout_s, "Seconds a step may take before the FMU counts as hung (default 10)")
      ->check(CLI::Range(0.001, 86400.0));
  fmu_run->footer(
      "Writes a header time,<every output in modelDescription order> and one row per communication point.\n"
      "The FMU runs in a child process: an error, a crash or a hang ends in a message and exit 1.\n"
      "A model-exchange FMU is integrated by CVODE (BDF) with its state, time and step events.");

  auto* sim =
      app.add_subcommand("sim", "Run equation models (DIR/sim/*.yaml) and systems (DIR/sim/systems/*.yaml) offline");
  sim->require_subcommand(1);
  std::string sim_dir, sim_scenario;
  auto* sim_run =
      sim->add_subcommand("run", "Run a scenario of an equation model and write its states and outputs as CSV");
  sim_run->add_option("DIR", sim_dir, "Project folder (its sim/ holds the equation models)")->required();
  sim_run
      ->add_option("--scenario", sim_scenario, "Scenario file (YAML): model, start, stop, step, parameters, schedule")
      ->required();
  sim_run->footer("See docs/simulation.md. Exit 1 with a message (file:line:column) for a mistake in a file.");
  sim_fit_options sfo;
  auto* sim_fit = sim->add_subcommand("fit", "Fit parameters of an equation model to measurements in a CSV file");
  sim_fit->add_option("DIR", sfo.dir, "Project folder (its sim/ holds the equation models)")->required();
  sim_fit->add_option("--model", sfo.model, "The equation model: DIR/sim/NAME.yaml")->required();
  sim_fit->add_option("--data", sfo.data, "CSV: time,<inputs and measured outputs or states>; empty cell = missing")
      ->required();
  sim_fit->add_option("--tune", sfo.tune, "The parameters to fit, comma-separated")->required()->delimiter(',');
  sim_fit->add_option("--set", sfo.sets, "NAME=VALUE: a parameter's value, or a tunable's start (repeatable)");
  sim_fit->add_option("--measured", sfo.measured, "Only these columns count, comma-separated (default: all)")
      ->delimiter(',');
  sim_fit->add_option("--max-iterations", sfo.max_iterations, "Levenberg-Marquardt iterations at most (default 50)")
      ->check(CLI::Range(1, 10000));
  sim_fit->footer(
      "Prints each tunable before -> after, each measured column's RMS error before -> after, the iterations and\n"
      "whether the fit converged. Exit 1 with a message (file:line for the CSV). See docs/simulation.md.");
  std::string system_name, system_output;
  double system_timeout = 10;
  auto* sim_system = sim->add_subcommand(
      "system", "Run a system of FMUs and equation models (DIR/sim/systems/NAME.yaml) and write every output as CSV");
  sim_system->add_option("DIR", sim_dir, "Project folder (its sim/systems/ holds the system files)")->required();
  sim_system->add_option("--system", system_name, "The system's name: DIR/sim/systems/NAME.yaml")->required();
  sim_system->add_option("--output", system_output, "CSV file to write (default: standard output)");
  sim_system
      ->add_option("--timeout", system_timeout, "Seconds a step may take before the run counts as hung (default 10)")
      ->check(CLI::Range(0.001, 86400.0));
  sim_system->footer(
      "Writes time,<component.output ...>, one row per communication step. Runs in a child process; exit 1 with a\n"
      "message (file:line:column for a mistake in a file). See docs/simulation.md.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }

  if (*init) {
    std::string name = init_name.empty() ? fs::absolute(init_dir).lexically_normal().filename().string() : init_name;
    if (name.empty()) name = fs::absolute(init_dir).lexically_normal().parent_path().filename().string();
    config_result check = parse_config(default_config_text(name), "--name");
    if (!check.ok()) {
      err << "doppel init: invalid project name " << name
          << ": use 1-64 letters, digits, '.', '_' or '-' (pass --name)\n";
      return 2;
    }
    std::string problem = init_project(init_dir, name);
    if (!problem.empty()) {
      err << "doppel init: " << problem << "\n";
      return 1;
    }
    out << "created project " << name << " in " << init_dir << "\n"
        << "  " << (fs::path(init_dir) / "doppel.yaml").string() << "\n"
        << "  " << (fs::path(init_dir) / "models" / "device.json").string() << "\n"
        << "  " << (fs::path(init_dir) / "twins").string() << "/\n"
        << "next: doppel validate " << init_dir << "\n";
    return 0;
  }
  if (*validate) return cmd_validate(validate_paths, format, list, allow_unknown, out);
  if (*fmu_info) return cmd_fmu_info(fmu_file, out, err);
  if (*fmu_run) return cmd_fmu_run(fro, out, err);
  if (*sim_run) return cmd_sim_run(sim_dir, sim_scenario, out, err);
  if (*sim_fit) return cmd_sim_fit(sfo, out, err);
  if (*sim_system) return cmd_sim_system(sim_dir, system_name, system_output, system_timeout, out, err);
  if (*serve) return cmd_serve(so, out, err);
  if (*query) {
    nlohmann::json body = {{"query", query_text}};
    if (!query_token.empty()) body["continuationToken"] = query_token;
    return remote_call(ro, "POST", "/query", body.dump(), out, err,
                       query_page ? std::to_string(query_page) : std::string());
  }
  if (*twin_list) {
    std::string q = "SELECT T.$dtId, T.$metadata.$model FROM DIGITALTWINS T";
    if (!list_model.empty()) {
      std::string quoted;
      for (char ch : list_model) {
        if (ch == '\'' || ch == '\\') quoted += '\\';
        quoted += ch;
      }
      q += " WHERE IS_OF_MODEL(T, '" + quoted + "')";
    }
    return remote_query_all(ro, q, out, err);
  }
  if (*twin_get) return remote_call(ro, "GET", "/digitaltwins/" + encode_segment(twin_id), "", out, err);
  if (*scenario_create) {
    std::stringstream text;
    if (scenario_file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(scenario_file, std::ios::binary);
      if (!in) {
        err << "doppel scenario create: cannot read " << scenario_file << "\n";
        return 2;
      }
      text << in.rdbuf();
    }
    return remote_call(ro, "POST", "/scenarios", text.str(), out, err);
  }
  if (*scenario_list) return remote_call(ro, "GET", "/scenarios", "", out, err);
  if (*scenario_get) {
    return remote_call(ro, "GET", "/scenarios/" + encode_segment(scenario_id) + (scenario_series ? "?series=true" : ""),
                       "", out, err);
  }
  if (*scenario_compare) {
    return remote_call(ro, "GET",
                       "/scenarios/" + encode_segment(scenario_id) + "/compare?with=" + encode_segment(scenario_with),
                       "", out, err);
  }
  if (*scenario_delete) return remote_call(ro, "DELETE", "/scenarios/" + encode_segment(scenario_id), "", out, err);
  if (*twin_patch) return remote_call(ro, "PATCH", "/digitaltwins/" + encode_segment(twin_id), twin_body, out, err);
  if (*twin_rels) {
    return remote_call(ro, "GET", "/digitaltwins/" + encode_segment(twin_id) + "/relationships", "", out, err);
  }
  if (*twin_telemetry) {
    return remote_call(ro, "GET", "/digitaltwins/" + encode_segment(twin_id) + "/telemetry", "", out, err);
  }
  if (*twin_desired) {
    return remote_call(ro, "GET", "/digitaltwins/" + encode_segment(twin_id) + "/desired", "", out, err);
  }
  if (*export_cmd) return run_export(ro, eo, out, err);
  if (*import_cmd) return run_import(ro, io, std::cin, out, err);
  if (*token_create) return cmd_token_create(token_dir, token_data, token_role, token_name, out, err);
  if (*token_list) return cmd_token_list(token_dir, token_data, out, err);
  if (*token_revoke) return cmd_token_revoke(token_dir, token_data, token_name, out, err);
  if (*device_add) return cmd_device_add(device_dir, device_data, device_name, device_twins, out, err);
  if (*device_list) return cmd_device_list(device_dir, device_data, out, err);
  if (*device_remove) return cmd_device_remove(device_dir, device_data, device_name, out, err);
  return 2;
}

}  // namespace doppel::app
