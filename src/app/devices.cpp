#include "app/devices.h"

#include <filesystem>

#include "app/serve.h"
#include "ingest/broker_auth.h"

namespace doppel::app {

namespace fs = std::filesystem;

namespace {

fs::path device_file(const std::string& dir, const std::string& data) {
  return fs::path(data_folder(dir, data)) / "mqtt-devices.json";
}

}  // namespace

int cmd_device_add(const std::string& dir, const std::string& data, const std::string& name,
                   const std::vector<std::string>& twins, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "doppel.yaml", ec)) {
    err << "doppel device add: " << dir << " is not a project folder (no doppel.yaml)\n";
    return 1;
  }
  auto password = ingest::add_device(device_file(dir, data), name, twins);
  if (!password) {
    err << "doppel device add: " << password.error().message() << "\n";
    return 1;
  }
  out << *password << "\n";
  return 0;
}

int cmd_device_list(const std::string& dir, const std::string& data, std::ostream& out, std::ostream& err) {
  auto devices = ingest::list_devices(device_file(dir, data));
  if (!devices) {
    err << "doppel device list: " << devices.error().message() << "\n";
    return 1;
  }
  for (const auto& d : *devices) {
    std::string twins;
    for (const auto& t : d.twins) twins += (twins.empty() ? "" : ",") + t;
    out << d.name << "\t" << (twins.empty() ? "*" : twins) << "\n";
  }
  return 0;
}

int cmd_device_remove(const std::string& dir, const std::string& data, const std::string& name, std::ostream& out,
                      std::ostream& err) {
  if (auto s = ingest::remove_device(device_file(dir, data), name); !s) {
    err << "doppel device remove: " << s.message() << "\n";
    return 1;
  }
  out << "removed " << name << "\n";
  return 0;
}

}  // namespace doppel::app
