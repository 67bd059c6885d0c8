#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/json_output.h"
#include "phytoflow/core/error.h"

#include <cstdlib>
#include <iostream>

#include <fmt/core.h>

namespace phytoflow {
namespace {

struct SampleArguments {
  std::string sample_id;
  std::string store;
  bool json = false;
};

std::string Number(const std::optional<double>& value, const char* format) {
  return value ? fmt::format(fmt::runtime(format), *value) : "-";
}

void ListSamples(const SampleArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const std::vector<Sample> samples = store->ListSamples();
  if (arguments.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const Sample& sample : samples) {
      all.push_back(SampleSummaryJson(sample));
    }
    std::cout << all.dump(2) << "\n";
    return;
  }
  fmt::print("{:<60} {:>9} {:>10} {:>12}  {}\n",
             "SAMPLE",
             "PARTICLES",
             "VOLUME_ML",
             "PARTICLES/ML",
             "RUN START (UTC)");
  for (const Sample& sample : samples) {
    fmt::print("{:<60} {:>9} {:>10} {:>12}  {}\n",
               sample.id,
               sample.particle_count,
               Number(sample.volume_imaged_ml, "{:.4f}"),
               Number(sample.particles_per_ml, "{:.1f}"),
               sample.run_start_utc.empty() ? "-" : sample.run_start_utc);
  }
}

void ShowSample(const SampleArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const auto sample = store->FindSample(arguments.sample_id);
  Check(sample.has_value(),
        ErrorCode::kNotFound,
        "no sample '" + arguments.sample_id + "' in the store (see `phytoflow samples`)");
  const std::vector<LabelCount> counts = store->CountLabels(sample->id);
  if (arguments.json) {
    std::cout << SampleDetailJson(*sample, counts).dump(2) << "\n";
    return;
  }
  const auto line = [](std::string_view key, const std::string& value) {
    fmt::print("{:<22} {}\n", key, value.empty() ? "-" : value);
  };
  line("sample", sample->id);
  line("run", sample->run_name);
  line("source", sample->source_path);
  line("software", sample->software + " " + sample->software_version);
  line("instrument serial", sample->instrument_serial);
  line("camera", sample->camera);
  line("magnification", Number(sample->magnification, "{:g}x"));
  line("calibration", Number(sample->calibration_um_per_px, "{:.4f} um/px"));
  line("flow cell", sample->flow_cell);
  line("run start (UTC)", sample->run_start_utc);
  const auto offset = UtcOffsetMinutes(sample->run_start_utc, sample->run_start_local);
  line("run start (local)",
       sample->run_start_local +
           (offset ? fmt::format(" (UTC{:+03d}:{:02d})", *offset / 60, std::abs(*offset % 60))
                   : ""));
  line("particles", std::to_string(sample->particle_count));
  line("volume imaged",
       Number(sample->volume_imaged_ml, "{:.4f} ml") + " (" +
           std::string(VolumeSourceName(sample->volume_source)) + ")");
  line("volume processed", Number(sample->volume_processed_ml, "{:.4f} ml"));
  line("dilution factor", fmt::format("{:.4g}", sample->dilution_factor));
  line("concentration", Number(sample->particles_per_ml, "{:.1f} particles/ml"));
  line("ingested", sample->ingested_at + " by phytoflow " + sample->phytoflow_version);
  const auto metadata = MetadataValues(sample->metadata);
  if (metadata.empty()) {
    line("metadata", "none (see `phytoflow metadata set`)");
  }
  for (const auto& [key, value] : metadata) {
    line(key, value);
  }
  for (const SampleFile& file : sample->files) {
    line("kept file", file.name + " (" + file.kind + ")");
  }
  for (const std::string& warning : sample->warnings) {
    line("warning", warning);
  }
  std::string current;
  for (const LabelCount& count : counts) {
    const std::string heading = count.source + " / " + count.classification;
    if (heading != current) {
      fmt::print("labels: {}\n", heading);
      current = heading;
    }
    fmt::print("  {:>7}  {}\n", count.count, count.name);
  }
}

}  // namespace

void AddSamplesCommand(CLI::App& app) {
  auto arguments = std::make_shared<SampleArguments>();
  CLI::App* command = app.add_subcommand("samples", "List the samples in the store");
  AddStoreOption(*command, arguments->store);
  command->add_flag("--json", arguments->json, "Print a JSON array");
  command->callback([arguments] { ListSamples(*arguments); });
}

void AddShowCommand(CLI::App& app) {
  auto arguments = std::make_shared<SampleArguments>();
  CLI::App* command = app.add_subcommand(
      "show",
      "Show a sample: run details, volume, concentration, calibration, sample metadata and label "
      "counts");
  command->add_option("SAMPLE", arguments->sample_id, "Sample id (see `phytoflow samples`)")
      ->required();
  AddStoreOption(*command, arguments->store);
  command->add_flag("--json", arguments->json, "Print a JSON object");
  command->callback([arguments] { ShowSample(*arguments); });
}

}  // namespace phytoflow
