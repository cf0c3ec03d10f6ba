// Who may use the managed broker: Doppel's own connection and the devices registered with
// `doppel device add`. The device file (DATA/mqtt-devices.json, mode 0600) keeps each device's
// name, the twins it may publish for (none: a fleet credential for any twin) and the hash of its
// password, in Mosquitto's password-file format (PBKDF2-SHA512, `$7$`), so the secret itself is
// shown once and never stored. From it and Doppel's own credential the managed broker writes its
// password file and ACL file (docs/ingest.md, "Broker credentials").
//
// Callers: `doppel device add|list|remove` (add_device, list_devices, remove_device) and the
// managed broker (read_devices, password_line, acl_text). Threading: pure functions and file I/O;
// two writers of one file at once are not supported (the CLI is run by a person).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace doppel::ingest {

struct broker_device {
  std::string name;                // the MQTT user name
  std::vector<std::string> twins;  // empty: a fleet credential (telemetry for any twin)
  std::string hash;                // "$7$..." as Mosquitto's password file holds it
};

// The user name of Doppel's own connection to the managed broker (refused for devices).
inline constexpr const char* k_doppel_broker_user = "doppel";

// A random secret of 32 bytes as 64 hex digits; empty if the system's generator failed.
std::string random_secret();

// Mosquitto's password-file hash of `password` ("$7$101$salt$hash", PBKDF2-SHA512).
std::string password_hash(const std::string& password);

// Registers a device and returns its password (shown once). invalid_argument for a bad or taken
// name (letters, digits, '.', '_', '-'; not "doppel") or a twin id that cannot be an MQTT topic
// level; io_error when the file cannot be written.
result<std::string> add_device(const std::filesystem::path& file, const std::string& name,
                               const std::vector<std::string>& twins);
// The registered devices (not_found is never returned: no file, no devices).
result<std::vector<broker_device>> list_devices(const std::filesystem::path& file);
// Removes a device; a running managed broker refuses it within a few seconds. not_found when none.
status remove_device(const std::filesystem::path& file, const std::string& name);

// Mosquitto's ACL file: Doppel's user reads and writes everything ($SYS included); a fleet device
// publishes to doppel/twins/+/telemetry and to `extra_publish` (the project's mapped topic
// filters) and reads doppel/twins/+/desired and doppel/twins/+/commands/#; a device limited to
// twins gets the same for its twins only. Nothing else, for anyone.
std::string acl_text(const std::vector<broker_device>& devices, const std::vector<std::string>& extra_publish);

}  // namespace doppel::ingest
