#include "phytoflow/app/ingest.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/json_output.h"
#include "phytoflow/cli/progress_bar.h"
#include "phytoflow/core/error.h"

#include <iostream>

#include <fmt/core.h>

namespace phytoflow {
namespace {

struct IngestArguments {
  std::vector<std::string> paths;
  std::string store;
  std::string metadata_file;
  bool json = false;
  bool replace = false;
  bool strict = false;
};

std::string Number(const std::optional<double>& value, const char* format) {
  return value ? fmt::format(fmt::runtime(format), *value) : "unknown";
}

void PrintReport(const IngestReport& report) {
  const Sample& sample = report.sample;
  fmt::print("{} {} ({})\n", IngestOutcomeName(report.outcome), sample.id, sample.source_path);
  fmt::print("  particles        {}\n", sample.particle_count);
  fmt::print("  volume imaged    {} ml ({})\n",
             Number(sample.volume_imaged_ml, "{:.4f}"),
             VolumeSourceName(sample.volume_source));
  fmt::print("  concentration    {} particles/ml{}\n",
             Number(sample.particles_per_ml, "{:.1f}"),
             sample.dilution_factor != 1.0
                 ? fmt::format(" (dilution x{:.4g})", sample.dilution_factor)
                 : "");
  std::string metadata_keys;
  for (const auto& [key, value] : MetadataValues(sample.metadata)) {
    metadata_keys += (metadata_keys.empty() ? "" : ", ") + key;
  }
  if (report.outcome != IngestOutcome::kUnchanged) {
    fmt::print("  labels           {} from {} classification(s)\n",
               report.labels,
               sample.classifications.size());
    if (!metadata_keys.empty()) {
      fmt::print("  metadata         {}\n", metadata_keys);
    }
    for (const std::string& warning : sample.warnings) {
      fmt::print("  warning: {}\n", warning);
    }
  } else {
    if (report.metadata_updated) {
      fmt::print("  metadata updated from the sidecar: {}\n", metadata_keys);
    }
    fmt::print("  already stored; use --replace to read it again\n");
  }
}

void Run(const IngestArguments& arguments) {
  // A bad sidecar fails before any run is read.
  std::optional<std::vector<MetadataRecord>> metadata;
  if (!arguments.metadata_file.empty()) {
    metadata = ReadMetadataFile(arguments.metadata_file);
  }
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  ProgressBar progress;
  std::vector<IngestReport> reports;
  const IngestOptions options{
      .replace = arguments.replace,
      .strict = arguments.strict,
      .metadata = metadata,
      .on_progress = [&](const IngestProgress& p) { progress.Update(p.run_name, p.done, p.total); },
      // Text reports appear as each run is stored, so a later failure does not hide them.
      .on_run_done =
          [&](const IngestReport& report) {
            progress.Finish();
            if (!arguments.json) {
              PrintReport(report);
            }
            reports.push_back(report);
          }};
  try {
    for (const std::string& path : arguments.paths) {
      IngestExport(*store, path, options);
    }
  } catch (const Error& error) {
    progress.Finish();
    if (reports.empty()) {
      throw;
    }
    std::string stored;
    for (const IngestReport& report : reports) {
      stored += (stored.empty() ? "" : ", ") + report.sample.id;
    }
    throw Error(error.Code(), std::string(error.what()) + " (stored before it: " + stored + ")");
  }
  if (metadata) {
    for (const std::string& run : UnmatchedMetadataRuns(*metadata, reports)) {
      std::cerr << "phytoflow: warning: " << arguments.metadata_file << ": run '" << run
                << "' matches none of the ingested runs\n";
    }
  }
  if (!arguments.json) {
    return;
  }
  if (reports.size() == 1) {
    std::cout << IngestReportJson(reports.front()).dump(2) << "\n";
    return;
  }
  nlohmann::json all = nlohmann::json::array();
  for (const IngestReport& report : reports) {
    all.push_back(IngestReportJson(report));
  }
  std::cout << all.dump(2) << "\n";
}

}  // namespace

void AddIngestCommand(CLI::App& app) {
  auto arguments = std::make_shared<IngestArguments>();
  CLI::App* command = app.add_subcommand(
      "ingest",
      "Read FlowCam exports (run folders, folders of runs, or .zip files) into the store");
  command->add_option("PATH", arguments->paths, "Export folder or .zip")->required();
  AddStoreOption(*command, arguments->store);
  command->add_flag(
      "--json", arguments->json, "Print one JSON object per run (an array for several)");
  command->add_flag(
      "--replace", arguments->replace, "Read runs that are already stored again and replace them");
  command->add_flag(
      "--strict", arguments->strict, "Fail on a missing or unreadable collage instead of warning");
  command->add_option("--metadata",
                      arguments->metadata_file,
                      "Sidecar .csv or .json of sample metadata, one row per run (matched by "
                      "sample id or run name); see docs/metadata.md");
  command->callback([arguments] { Run(*arguments); });
}

}  // namespace phytoflow
