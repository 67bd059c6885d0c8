#include "phytoflow/server/serve_config.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/store_uri.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

int64_t ParseInteger(const std::string& key, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  Check(error == std::errc() && end == text.data() + text.size() && value >= min && value <= max,
        ErrorCode::kInvalidInput,
        key + ": expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
            ", found '" + text + "'");
  return value;
}

bool ParseBool(const std::string& key, std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (text == "true" || text == "1" || text == "yes") {
    return true;
  }
  if (text == "false" || text == "0" || text == "no") {
    return false;
  }
  throw Error(ErrorCode::kInvalidInput, key + ": expected true or false, found '" + text + "'");
}

bool KnownKey(std::string_view key) {
  const auto keys = ServeSettingKeys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

std::vector<std::string_view> ServeSettingKeys() {
  return {"store",
          "state",
          "host",
          "port",
          "threads",
          "public_read",
          "model",
          "dataset",
          "taxonomy",
          "max_body_mb",
          "max_upload_mb",
          "max_unpacked_mb",
          "upload_dir",
          "job_workers",
          "image_cache_mb",
          "store_connections",
          "access_log"};
}

SettingValues SettingsFromJson(std::string_view text, const std::string& source) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  Check(!json.is_discarded(), ErrorCode::kInvalidInput, source + ": not valid JSON");
  Check(json.is_object(),
        ErrorCode::kInvalidInput,
        source + ": expected a JSON object of settings, found " + json.type_name());
  SettingValues values;
  for (const auto& [key, value] : json.items()) {
    const std::string name = key == "models" ? "model" : key;
    Check(KnownKey(name), ErrorCode::kInvalidInput, source + ": unknown setting '" + key + "'");
    const auto add = [&](const nlohmann::json& item) {
      if (item.is_string()) {
        values.emplace_back(name, item.get<std::string>());
      } else if (item.is_number_integer()) {
        values.emplace_back(name, std::to_string(item.get<int64_t>()));
      } else if (item.is_boolean()) {
        values.emplace_back(name, item.get<bool>() ? "true" : "false");
      } else {
        throw Error(ErrorCode::kInvalidInput,
                    source + ": setting '" + key + "': expected a string, an integer or a " +
                        "boolean, found " + item.type_name());
      }
    };
    if (value.is_array() && name == "model") {
      if (value.empty()) {
        values.emplace_back("model", "");  // an empty list still replaces earlier ones
      }
      for (const nlohmann::json& item : value) {
        add(item);
      }
    } else {
      add(value);
    }
  }
  return values;
}

SettingValues SettingsFromEnvironment(const std::function<const char*(const char*)>& getenv) {
  SettingValues values;
  for (const std::string_view key : ServeSettingKeys()) {
    if (key == "model") {
      continue;
    }
    std::string name = "PHYTOFLOW_";
    for (const char c : key) {
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const char* value = getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      values.emplace_back(std::string(key), value);
    }
  }
  return values;
}

ServeSettings ResolveServeSettings(const std::vector<SettingValues>& sources) {
  ServeSettings settings;
  for (const SettingValues& source : sources) {
    bool models_replaced = false;
    for (const auto& [key, value] : source) {
      if (key == "store") {
        settings.store = value;
      } else if (key == "state") {
        settings.state = value;
      } else if (key == "host") {
        Check(!value.empty(), ErrorCode::kInvalidInput, "host: must not be empty");
        settings.host = value;
      } else if (key == "port") {
        settings.port = static_cast<int>(ParseInteger(key, value, 0, 65535));
      } else if (key == "threads") {
        settings.threads = static_cast<int>(ParseInteger(key, value, 1, 4096));
      } else if (key == "public_read") {
        settings.public_read = ParseBool(key, value);
      } else if (key == "model") {
        if (!models_replaced) {
          settings.models.clear();
          models_replaced = true;
        }
        if (!value.empty()) {
          settings.models.push_back(value);
        }
      } else if (key == "dataset") {
        settings.dataset = value;
      } else if (key == "taxonomy") {
        settings.taxonomy = value;
      } else if (key == "max_body_mb") {
        settings.max_body_mb = ParseInteger(key, value, 1, int64_t{1} << 20);
      } else if (key == "max_upload_mb") {
        settings.max_upload_mb = ParseInteger(key, value, 1, int64_t{1} << 24);
      } else if (key == "max_unpacked_mb") {
        settings.max_unpacked_mb = ParseInteger(key, value, 1, int64_t{1} << 30);
      } else if (key == "upload_dir") {
        settings.upload_dir = value;
      } else if (key == "job_workers") {
        settings.job_workers = static_cast<int>(ParseInteger(key, value, 1, 64));
      } else if (key == "image_cache_mb") {
        settings.image_cache_mb = ParseInteger(key, value, 1, int64_t{1} << 20);
      } else if (key == "store_connections") {
        settings.store_connections = static_cast<int>(ParseInteger(key, value, 1, 256));
      } else if (key == "access_log") {
        settings.access_log = ParseBool(key, value);
      } else {
        throw Error(ErrorCode::kInvalidInput, "unknown setting '" + key + "'");
      }
    }
  }
  return settings;
}

std::filesystem::path ServiceStatePath(const std::string& store_uri, const std::string& state) {
  if (!state.empty()) {
    return state;
  }
  const StoreUri parsed = ParseStoreUri(store_uri);
  Check(parsed.kind == StoreUri::Kind::kSqlite,
        ErrorCode::kInvalidInput,
        "a MongoDB store keeps no service state beside it: give --state FILE (API tokens)");
  Check(parsed.location != ":memory:",
        ErrorCode::kInvalidInput,
        "an in-memory store keeps no service state beside it: give --state FILE");
  return parsed.location + ".service.db";
}

std::filesystem::path UploadDirectory(const std::filesystem::path& state_path,
                                      const std::string& upload_dir) {
  if (!upload_dir.empty()) {
    return upload_dir;
  }
  std::filesystem::path beside = state_path;
  beside += ".uploads";
  return beside;
}

}  // namespace phytoflow
