// `doppel device add|list|remove`: the credentials devices use on the managed MQTT broker
// (docs/ingest.md, "Broker credentials"). They live in DATA/mqtt-devices.json; a running
// `doppel serve` sees a change within a few seconds (it writes the broker's password and ACL files
// again and has Mosquitto reload them). Called by the CLI; each runs once and returns an exit code.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace doppel::app {

// Registers a device and prints its password on `out` (only the password, shown this once);
// `twins` empty makes a fleet credential, which may publish telemetry for any twin.
int cmd_device_add(const std::string& dir, const std::string& data, const std::string& name,
                   const std::vector<std::string>& twins, std::ostream& out, std::ostream& err);
// One "name<TAB>twins" line per device ("*" for a fleet credential).
int cmd_device_list(const std::string& dir, const std::string& data, std::ostream& out, std::ostream& err);
int cmd_device_remove(const std::string& dir, const std::string& data, const std::string& name, std::ostream& out,
                      std::ostream& err);

}  // namespace doppel::app
