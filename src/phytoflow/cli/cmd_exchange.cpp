// export dwca, export ecotaxa, import ecotaxa: the exchange formats (docs/formats/darwin-core.md,
// docs/formats/ecotaxa.md).

#include "phytoflow/app/products.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"

#include <fstream>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

struct ExchangeArguments {
  std::vector<std::string> sample_ids;
  bool all = false;
  std::string out;
  std::string dataset;
  std::string taxonomy;
  std::string model_id;
  std::string model_reference;
  bool validated_only = false;
  std::string input;
  std::string store;
  bool json = false;
};

const Taxonomy& ChosenTaxonomy(const std::string& path, std::optional<Taxonomy>& loaded) {
  if (path.empty()) {
    return DefaultTaxonomy();
  }
  loaded = LoadTaxonomy(path);
  return *loaded;
}

DatasetDescription ReadDatasetDescription(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Check(in.is_open(), ErrorCode::kNotFound, path + ": no such file (--dataset)");
  return ParseDatasetDescription({std::istreambuf_iterator<char>(in), {}}, path);
}

LabelChoice ChosenLabels(const ExchangeArguments& arguments) {
  return LabelChoice{.model_id = arguments.model_id, .validated_only = arguments.validated_only};
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const std::string& warning : warnings) {
    fmt::print(stderr, "warning: {}\n", warning);
  }
}

void ExportDwcaCommand(const ExchangeArguments& arguments) {
  Check(arguments.all != !arguments.sample_ids.empty(),
        ErrorCode::kInvalidInput,
        "export dwca: give either SAMPLE... or --all");
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  std::vector<std::string> sample_ids = arguments.sample_ids;
  if (arguments.all) {
    for (const Sample& sample : store->ListSamples()) {
      sample_ids.push_back(sample.id);
    }
    Check(!sample_ids.empty(), ErrorCode::kNotFound, "export dwca --all: the store has no samples");
  }
  std::vector<std::string> warnings;
  DatasetDescription dataset;
  if (arguments.dataset.empty()) {
    dataset = PlaceholderDatasetDescription();
    warnings.push_back(
        "no --dataset: eml.xml has a placeholder title, creator and contact; write a dataset.json "
        "(docs/formats/darwin-core.md) before publishing");
  } else {
    dataset = ReadDatasetDescription(arguments.dataset);
  }
  std::optional<Taxonomy> loaded;
  DarwinCoreExportOptions options{
      .compose = {.taxonomy = &ChosenTaxonomy(arguments.taxonomy, loaded),
                  .labels = ChosenLabels(arguments)},
      .model_reference = arguments.model_reference};
  DarwinCoreExportReport report =
      ExportDarwinCore(*store, sample_ids, dataset, arguments.out, options);
  warnings.insert(warnings.end(), report.warnings.begin(), report.warnings.end());
  if (arguments.json) {
    std::cout << nlohmann::json{{"out", arguments.out},
                                {"samples", report.samples},
                                {"events", report.events},
                                {"occurrences", report.occurrences},
                                {"measurements", report.measurements},
                                {"warnings", warnings}}
                     .dump(2)
              << "\n";
    return;
  }
  PrintWarnings(warnings);
  fmt::print("wrote {}: {} sample(s), {} events, {} occurrences, {} measurements\n",
             arguments.out,
             report.samples,
             report.events,
             report.occurrences,
             report.measurements);
}

void ExportEcoTaxaCommand(const ExchangeArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const EcoTaxaExportReport report =
      ExportEcoTaxa(*store, arguments.sample_ids.front(), arguments.out, ChosenLabels(arguments));
  if (arguments.json) {
    std::cout << nlohmann::json{{"out", arguments.out},
                                {"sample_id", arguments.sample_ids.front()},
                                {"objects", report.objects},
                                {"without_image", report.without_image}}
                     .dump(2)
              << "\n";
    return;
  }
  if (report.without_image > 0) {
    fmt::print(stderr,
               "warning: {} particle(s) without a vignette left out (EcoTaxa needs an image per "
               "object)\n",
               report.without_image);
  }
  fmt::print("wrote {}: {} objects with their vignettes\n", arguments.out, report.objects);
}

void ImportEcoTaxaCommand(const ExchangeArguments& arguments) {
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  const EcoTaxaImportReport report = ImportEcoTaxa(*store, arguments.input);
  if (arguments.json) {
    nlohmann::json unmatched = nlohmann::json::array();
    for (const EcoTaxaUnmatched& row : report.unmatched) {
      unmatched.push_back({{"file", row.file}, {"line", row.line}, {"object_id", row.object_id}});
    }
    std::cout << nlohmann::json{{"rows", report.rows},
                                {"validated", report.validated},
                                {"predicted", report.predicted},
                                {"skipped", report.skipped},
                                {"samples", report.samples},
                                {"unmatched", unmatched}}
                     .dump(2)
              << "\n";
    return;
  }
  fmt::print(
      "{} rows: {} validated (stored as expert labels), {} predicted, {} skipped, {} "
      "unmatched\n",
      report.rows,
      report.validated,
      report.predicted,
      report.skipped,
      report.unmatched.size());
  for (const std::string& sample_id : report.samples) {
    fmt::print("  sample {}\n", sample_id);
  }
  for (const EcoTaxaUnmatched& row : report.unmatched) {
    fmt::print(stderr,
               "unmatched: {}:{}: object '{}' is no stored particle (by object id or GUID)\n",
               row.file,
               row.line,
               row.object_id);
  }
}

void AddLabelOptions(CLI::App& command, ExchangeArguments& arguments) {
  command.add_option("--model-id",
                     arguments.model_id,
                     "Count the predictions of this model id (default: the newest classification)");
  command.add_flag("--validated-only",
                   arguments.validated_only,
                   "Only validated (expert) labels; predictions are ignored");
}

}  // namespace

void AddExchangeCommands(CLI::App& app) {
  CLI::App* export_command = app.add_subcommand(
      "export", "Write data products: a Darwin Core Archive or an EcoTaxa package");
  export_command->require_subcommand(1);

  auto dwca_arguments = std::make_shared<ExchangeArguments>();
  CLI::App* dwca = export_command->add_subcommand(
      "dwca",
      "Darwin Core Archive for OBIS / EMODnet Biology: events, occurrences, measurements, "
      "meta.xml, eml.xml (docs/formats/darwin-core.md)");
  dwca->add_option("SAMPLE", dwca_arguments->sample_ids, "Sample ids (see `phytoflow samples`)");
  dwca->add_flag("--all", dwca_arguments->all, "Every sample in the store");
  dwca->add_option("--out", dwca_arguments->out, "Archive to write (.zip)")->required();
  dwca->add_option("--dataset",
                   dwca_arguments->dataset,
                   "dataset.json: title, abstract, licence, creators, contact for eml.xml");
  dwca->add_option("--taxonomy",
                   dwca_arguments->taxonomy,
                   "Taxonomy TSV (default: the built-in one, see `phytoflow taxonomy show`)");
  dwca->add_option("--model-reference",
                   dwca_arguments->model_reference,
                   "URL or DOI of the model card, cited in identificationReferences");
  AddLabelOptions(*dwca, *dwca_arguments);
  AddStoreOption(*dwca, dwca_arguments->store);
  dwca->add_flag("--json", dwca_arguments->json, "Print a JSON object");
  dwca->callback([dwca_arguments] { ExportDwcaCommand(*dwca_arguments); });

  auto ecotaxa_arguments = std::make_shared<ExchangeArguments>();
  CLI::App* ecotaxa = export_command->add_subcommand(
      "ecotaxa",
      "EcoTaxa import package of one sample: ecotaxa_SAMPLE.tsv and the vignettes "
      "(docs/formats/ecotaxa.md)");
  ecotaxa->add_option("SAMPLE", ecotaxa_arguments->sample_ids, "Sample id")
      ->required()
      ->expected(1);
  ecotaxa->add_option("--out", ecotaxa_arguments->out, "Package to write (.zip)")->required();
  AddLabelOptions(*ecotaxa, *ecotaxa_arguments);
  AddStoreOption(*ecotaxa, ecotaxa_arguments->store);
  ecotaxa->add_flag("--json", ecotaxa_arguments->json, "Print a JSON object");
  ecotaxa->callback([ecotaxa_arguments] { ExportEcoTaxaCommand(*ecotaxa_arguments); });

  CLI::App* import_command = app.add_subcommand("import", "Read labels made elsewhere");
  import_command->require_subcommand(1);
  auto import_arguments = std::make_shared<ExchangeArguments>();
  CLI::App* import_ecotaxa = import_command->add_subcommand(
      "ecotaxa",
      "Store the labels of an EcoTaxa export (validated ones become expert labels), matched by "
      "object id or FlowCam GUID");
  import_ecotaxa
      ->add_option("INPUT", import_arguments->input, "EcoTaxa export: .zip, .tsv or folder")
      ->required();
  AddStoreOption(*import_ecotaxa, import_arguments->store);
  import_ecotaxa->add_flag("--json", import_arguments->json, "Print a JSON object");
  import_ecotaxa->callback([import_arguments] { ImportEcoTaxaCommand(*import_arguments); });
}

}  // namespace phytoflow
