// `doppel serve` and `doppel token create`: the composition root of the server. Loads the
// project, opens the metadata store under the data folder, builds the twin graph (adding the
// twins and relationships declared in twins/ that the store does not hold yet), and serves the
// API until SIGINT or SIGTERM.
// Called by the CLI; runs on the calling thread, which it blocks.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace doppel::app {

struct serve_options {
  std::string dir;
  std::string listen;       // HOST:PORT; empty: doppel.yaml's api.listen
  std::string data;         // empty: DIR/.doppel
  int threads = 0;          // 0: api::server_options' default
  std::string mqtt;         // overrides doppel.yaml's mqtt.broker (managed, off, mqtt://...)
  std::string mqtt_listen;  // overrides mqtt.listen (the managed broker's HOST:PORT)
};

int cmd_serve(const serve_options& o, std::ostream& out, std::ostream& err);

// Creates a token in the data folder and prints it on `out` (only the token, so that
// `export DOPPEL_TOKEN=$(doppel token create ...)` works).
// `doppel token list DIR`: one "name<TAB>role" line per token. `doppel token revoke DIR --name N`.
int cmd_token_list(const std::string& dir, const std::string& data, std::ostream& out, std::ostream& err);
int cmd_token_revoke(const std::string& dir, const std::string& data, const std::string& name, std::ostream& out,
                     std::ostream& err);
int cmd_token_create(const std::string& dir, const std::string& data, const std::string& role, const std::string& name,
                     std::ostream& out, std::ostream& err);

// The data folder of a project: `data` when given, else DIR/.doppel.
std::string data_folder(const std::string& dir, const std::string& data);

}  // namespace doppel::app
