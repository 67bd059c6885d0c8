#include "phytoflow/app/metadata.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/json_output.h"
#include "phytoflow/core/error.h"

#include <iostream>

#include <fmt/core.h>

namespace phytoflow {
namespace {

struct MetadataArguments {
  std::string sample_id;
  std::vector<std::string> pairs;  // KEY=VALUE
  std::string file;
  std::string store;
  bool json = false;
};

void PrintMetadata(const std::string& sample_id, const SampleMetadata& metadata, bool json) {
  if (json) {
    const nlohmann::json object = {{"sample_id", sample_id},
                                   {"metadata", SampleMetadataJson(metadata)}};
    std::cout << object.dump(2) << "\n";
    return;
  }
  fmt::print("{:<22} {}\n", "sample", sample_id);
  if (metadata.Empty()) {
    fmt::print(
        "no metadata; set it with `phytoflow metadata set` or `phytoflow metadata import`\n");
  }
  for (const auto& [key, value] : MetadataValues(metadata)) {
    fmt::print("{:<22} {}\n", key, value);
  }
}

// "KEY=VALUE" → {KEY, VALUE}; the value may contain '=' and may be empty (clears the key).
std::vector<std::pair<std::string, std::string>> ParsePairs(const std::vector<std::string>& pairs) {
  std::vector<std::pair<std::string, std::string>> parsed;
  for (const std::string& pair : pairs) {
    const auto equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw Error(
          ErrorCode::kInvalidInput,
          "expected KEY=VALUE (e.g. station=W08, or station= to clear it), found '" + pair + "'");
    }
    parsed.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
  }
  return parsed;
}

void Set(const MetadataArguments& arguments) {
  const std::vector<std::pair<std::string, std::string>> pairs = ParsePairs(arguments.pairs);
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  PrintMetadata(
      arguments.sample_id, SetSampleMetadata(*store, arguments.sample_id, pairs), arguments.json);
}

void Show(const MetadataArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const auto sample = store->FindSample(arguments.sample_id);
  Check(sample.has_value(),
        ErrorCode::kNotFound,
        "no sample '" + arguments.sample_id + "' in the store (see `phytoflow samples`)");
  PrintMetadata(sample->id, sample->metadata, arguments.json);
}

void Import(const MetadataArguments& arguments) {
  const std::vector<MetadataRecord> records = ReadMetadataFile(arguments.file);
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const MetadataImportReport report = ImportMetadata(*store, records);
  for (const std::string& run : report.unmatched_runs) {
    std::cerr << "phytoflow: warning: " << arguments.file << ": run '" << run
              << "' matches no stored sample (by sample id or run name)\n";
  }
  if (arguments.json) {
    const nlohmann::json json = {{"updated", report.updated},
                                 {"unchanged", report.unchanged},
                                 {"unmatched_runs", report.unmatched_runs}};
    std::cout << json.dump(2) << "\n";
  } else {
    for (const std::string& sample_id : report.updated) {
      fmt::print("updated {}\n", sample_id);
    }
    for (const std::string& sample_id : report.unchanged) {
      fmt::print("unchanged {}\n", sample_id);
    }
  }
  // Nothing matched is almost always the wrong file or store, so it is an error.
  Check(!report.updated.empty() || !report.unchanged.empty(),
        ErrorCode::kNotFound,
        arguments.file + ": no record matches a stored sample (see `phytoflow samples`)");
}

}  // namespace

void AddMetadataCommands(CLI::App& app) {
  CLI::App* metadata = app.add_subcommand(
      "metadata",
      "Sample metadata (station, time, position, depth, gear, factors, environment); keys and "
      "formats in docs/metadata.md");
  metadata->require_subcommand(1);

  std::string keys;
  for (const std::string_view key : SampleMetadataKeys()) {
    keys += std::string(key) + ", ";
  }
  keys += "env.NAME";

  auto set_arguments = std::make_shared<MetadataArguments>();
  CLI::App* set = metadata->add_subcommand(
      "set", "Set keys of a stored sample (KEY= clears a key) and print its metadata");
  set->add_option("SAMPLE", set_arguments->sample_id, "Sample id (see `phytoflow samples`)")
      ->required();
  set->add_option("KEY=VALUE", set_arguments->pairs, "Keys: " + keys)->required();
  AddStoreOption(*set, set_arguments->store);
  set->add_flag("--json", set_arguments->json, "Print a JSON object");
  set->callback([set_arguments] { Set(*set_arguments); });

  auto import_arguments = std::make_shared<MetadataArguments>();
  CLI::App* import = metadata->add_subcommand(
      "import",
      "Apply a sidecar table (.csv or .json, one row per run) to the stored samples it names");
  import->add_option("FILE", import_arguments->file, "Sidecar file: .csv or .json")->required();
  AddStoreOption(*import, import_arguments->store);
  import->add_flag("--json", import_arguments->json, "Print a JSON object");
  import->callback([import_arguments] { Import(*import_arguments); });

  auto show_arguments = std::make_shared<MetadataArguments>();
  CLI::App* show = metadata->add_subcommand("show", "Print the metadata of a stored sample");
  show->add_option("SAMPLE", show_arguments->sample_id, "Sample id (see `phytoflow samples`)")
      ->required();
  AddStoreOption(*show, show_arguments->store);
  show->add_flag("--json", show_arguments->json, "Print a JSON object");
  show->callback([show_arguments] { Show(*show_arguments); });
}

}  // namespace phytoflow
