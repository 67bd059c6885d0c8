#pragma once

// The settings of `phytoflow serve`, from a JSON config file, PHYTOFLOW_* environment variables
// and command-line flags; a later source wins for each key (flags > environment > file >
// defaults). docs/api.md lists the keys.
//
//   ServeSettings settings = ResolveServeSettings({SettingsFromJson(file_text, path),
//                                                  SettingsFromEnvironment(std::getenv),
//                                                  flags});

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phytoflow {

struct ServeSettings {
  std::string store = "phytoflow.db";  // a --store URI
  std::string state;                   // service state file; empty: beside a SQLite store
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;  // request threads: clients served at once
  bool public_read = false;
  std::vector<std::string> models;  // model files besides the default; the first is active
  std::string dataset;              // dataset.json for Darwin Core downloads
  std::string taxonomy;             // taxonomy TSV; empty: the built-in one
  int64_t max_body_mb = 64;         // largest request body, uploads aside
  int64_t max_upload_mb = 4096;     // largest upload (POST /api/v1/uploads), streamed to disk
  int64_t max_unpacked_mb = 16384;  // what an uploaded zip may unpack to
  std::string upload_dir;           // uploads and job results; empty: "<state>.uploads"
  int job_workers = 1;              // background jobs run at once
  int64_t image_cache_mb = 256;
  int store_connections = 4;  // stores opened for request threads to share
  bool access_log = true;
};

// One source of settings: key → value as text, in the order given ("model" may repeat).
using SettingValues = std::vector<std::pair<std::string, std::string>>;

// The keys, in documentation order: store, state, host, port, threads, public_read, model,
// dataset, taxonomy, max_body_mb, max_upload_mb, max_unpacked_mb, upload_dir, job_workers,
// image_cache_mb, store_connections, access_log.
std::vector<std::string_view> ServeSettingKeys();

// Settings from the text of a JSON config file: an object of keys of ServeSettingKeys() (or
// "models" as an array of paths) with string, number or boolean values. Throws
// Error{kInvalidInput} naming `source` and the key for malformed JSON, an unknown key or a value
// of the wrong type.
SettingValues SettingsFromJson(std::string_view text, const std::string& source);

// Settings from PHYTOFLOW_<KEY> environment variables (PHYTOFLOW_PUBLIC_READ, ...), read
// through `getenv`; PHYTOFLOW_STORE as for every command. "model" has no variable here:
// $PHYTOFLOW_MODEL already names the default model.
SettingValues SettingsFromEnvironment(const std::function<const char*(const char*)>& getenv);

// Applies the sources in order over the defaults. A source that names "model" replaces the
// model list of the sources before it. Throws Error{kInvalidInput} naming the key for a value
// that does not parse (port 0..65535, threads 1..4096, store_connections 1..256, job_workers
// 1..64, sizes ≥ 1, booleans true/false/1/0/yes/no).
ServeSettings ResolveServeSettings(const std::vector<SettingValues>& sources);

// Where the service state of `store_uri` lives: `state` if given, else "<store path>.service.db"
// beside a SQLite store. Throws Error{kInvalidInput} for a MongoDB store without `state`.
std::filesystem::path ServiceStatePath(const std::string& store_uri, const std::string& state);

// Where uploads and job results live: `upload_dir` if given, else "<state path>.uploads".
std::filesystem::path UploadDirectory(const std::filesystem::path& state_path,
                                      const std::string& upload_dir);

}  // namespace phytoflow
