// A fresh folder under the system temp directory, removed with everything in it when the
// object goes away. For tests that need real files (projects, databases).
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace doppel::testing {

class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "doppel-test") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / (std::string(prefix) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace doppel::testing
