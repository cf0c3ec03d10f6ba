#include "ingest/broker_auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "core/json_input.h"
#include "core/text.h"

namespace doppel::ingest {

namespace fs = std::filesystem;

namespace {

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool valid_user(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// A twin id that can stand as one topic level in an ACL line: no wildcard, separator, space or
// control character (the ACL file is line- and space-separated).
bool valid_topic_level(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return c == '+' || c == '#' || c == '/' || u <= 0x20 || u == 0x7f;
  });
}

result<nlohmann::json> read_device_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return nlohmann::json{{"devices", nlohmann::json::array()}};
  auto text = read_file(file);
  if (!text) return text.error();
  auto parsed = parse_json(*text);  // the one input policy (core/json_input.h)
  nlohmann::json j = parsed ? std::move(*parsed) : nlohmann::json();
  if (!parsed || !j.is_object() || !j.contains("devices") || !j["devices"].is_array()) {
    return status::invalid_argument(file.string() + " is not a device file ({\"devices\": [...]}); restore it, or " +
                                    "remove it and add the devices again");
  }
  return j;
}

}  // namespace

std::string random_secret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string password_hash(const std::string& password) {
  // Mosquitto 2's own format and default cost (mosquitto_passwd writes the same). The passwords
  // are 256-bit random secrets, so a higher iteration count would add no protection.
  constexpr int iterations = 101;
  unsigned char salt[12], out[64];
  if (RAND_bytes(salt, sizeof salt) != 1) return {};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt, sizeof salt, iterations, EVP_sha512(),
                        sizeof out, out) != 1) {
    return {};
  }
  return "$7$" + std::to_string(iterations) + "$" + base64(salt, sizeof salt) + "$" + base64(out, sizeof out);
}

result<std::string> add_device(const fs::path& file, const std::string& name, const std::vector<std::string>& twins) {
  if (!valid_user(name)) {
    return status::invalid_argument("a device name must be 1-64 letters, digits, '.', '_' or '-', not " + quote(name));
  }
  if (name == k_doppel_broker_user) {
    return status::invalid_argument("the name \"doppel\" is Doppel's own connection to the broker; choose another");
  }
  for (const auto& t : twins) {
    if (!valid_topic_level(t)) {
      return status::invalid_argument("twin id " + quote(t) +
                                      " cannot be an MQTT topic level (no '/', '+', '#', spaces or control "
                                      "characters); such a twin's device needs a fleet credential (no --twin)");
    }
  }
  auto j = read_device_file(file);
  if (!j) return j.error();
  for (const auto& d : (*j)["devices"]) {
    if (d.value("name", "") == name) {
      return status::invalid_argument("a device named " + quote(name) +
                                      " exists already; choose another --name, or remove it first");
    }
  }
  std::string password = random_secret();
  std::string hash = password_hash(password);
  if (password.empty() || hash.empty()) return status::internal("the system random generator failed");
  (*j)["devices"].push_back({{"name", name}, {"twins", twins}, {"hash", hash}});
  if (status s = write_private_file(file, j->dump(2) + "\n"); !s) return s;
  return password;
}

result<std::vector<broker_device>> list_devices(const fs::path& file) {
  auto j = read_device_file(file);
  if (!j) return j.error();
  std::vector<broker_device> out;
  for (const auto& d : (*j)["devices"]) {
    broker_device b;
    b.name = d.value("name", "");
    b.hash = d.value("hash", "");
    if (d.contains("twins") && d["twins"].is_array()) {
      for (const auto& t : d["twins"]) {
        if (t.is_string()) b.twins.push_back(t.get<std::string>());
      }
    }
    // An entry edited by hand into something unsafe for the generated files is left out.
    bool ok = valid_user(b.name) && b.name != k_doppel_broker_user && b.hash.starts_with("$7$") &&
              b.hash.find_first_of(" \t\r\n:") == std::string::npos &&
              std::all_of(b.twins.begin(), b.twins.end(), valid_topic_level);
    if (ok) out.push_back(std::move(b));
  }
  return out;
}

status remove_device(const fs::path& file, const std::string& name) {
  auto j = read_device_file(file);
  if (!j) return j.error();
  auto& devices = (*j)["devices"];
  auto before = devices.size();
  devices.erase(std::remove_if(devices.begin(), devices.end(),
                               [&](const nlohmann::json& d) { return d.value("name", "") == name; }),
                devices.end());
  if (devices.size() == before) {
    return status::not_found("no device named " + quote(name) + "; `doppel device list` shows them");
  }
  return write_private_file(file, j->dump(2) + "\n");
}

std::string acl_text(const std::vector<broker_device>& devices, const std::vector<std::string>& extra_publish) {
  std::string out =
      "# Generated by `doppel serve` from DATA/mqtt-devices.json; edits are overwritten (docs/ingest.md).\n"
      "# No lines before the first `user`: anonymous clients are refused anyway, and a client gets\n"
      "# only what its own user's lines allow.\n\n";
  out += std::string("user ") + k_doppel_broker_user + "\ntopic readwrite #\ntopic read $SYS/#\n";
  for (const auto& d : devices) {
    out += "\nuser " + d.name + "\n";
    if (d.twins.empty()) {
      out += "topic write doppel/twins/+/telemetry\n";
      for (const auto& f : extra_publish) {
        if (f.rfind("doppel/", 0) != 0 && f.find_first_of("\r\n") == std::string::npos)
          out += "topic write " + f + "\n";
      }
      out += "topic read doppel/twins/+/desired\ntopic read doppel/twins/+/commands/#\n";
    } else {
      for (const auto& t : d.twins) {
        out += "topic write doppel/twins/" + t + "/telemetry\n";
        out += "topic read doppel/twins/" + t + "/desired\n";
        out += "topic read doppel/twins/" + t + "/commands/#\n";
      }
    }
  }
  return out;
}

}  // namespace doppel::ingest
