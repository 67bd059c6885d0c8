// report: the composition of samples (counts, cells, biovolume and carbon per litre, corrected
// abundances, size classes) as a table, JSON or CSV; taxonomy show|check: the taxonomy table.

#include "phytoflow/app/products.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/default_model.h"
#include "phytoflow/core/error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/model_catalog.h"

#include <cmath>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#ifdef PHYTOFLOW_WITH_TORCH
#include "phytoflow/classify/torch/torch_model.h"
#endif

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct ReportArguments {
  std::string sample_id;
  bool all = false;
  bool json = false;
  bool csv = false;
  std::string store;
  std::string taxonomy;
  std::string model;
  std::string carbon = "all-sizes";
  bool validated_only = false;
  bool tsv = false;        // taxonomy show
  std::string check_file;  // taxonomy check
};

// A model's validation confusion matrix, for the corrected abundances.
struct ModelConfusion {
  std::string model_id;
  std::optional<ConfusionRates> rates;
  std::string problem;  // why there is none
};

const Taxonomy& ChosenTaxonomy(const std::string& path, std::optional<Taxonomy>& loaded) {
  if (path.empty()) {
    return DefaultTaxonomy();
  }
  loaded = LoadTaxonomy(path);
  return *loaded;
}

#ifdef PHYTOFLOW_WITH_TORCH
// The confusion matrix stored with the model, else the one in the training report beside it
// (server/model_catalog.h ReadModelValidation, shared with the HTTP service).
ModelConfusion ReadModelConfusion(const fs::path& model_path) {
  const ModelInfo info = ReadModelInfo(model_path);
  ModelValidation validation = ReadModelValidation(info, model_path);
  return {.model_id = info.id,
          .rates = std::move(validation.confusion),
          .problem = std::move(validation.problem)};
}
#endif

ModelConfusion ChosenConfusion(const ReportArguments& arguments) {
#ifdef PHYTOFLOW_WITH_TORCH
  if (!arguments.model.empty()) {
    return ReadModelConfusion(arguments.model);
  }
  const std::string model = DefaultModelPath();
  if (!fs::exists(model)) {
    return {.problem = "no --model and no default model at " + model +
                       ": corrected abundances not computed"};
  }
  return ReadModelConfusion(model);
#else
  Check(arguments.model.empty(),
        ErrorCode::kUnavailable,
        "--model: this phytoflow was built without LibTorch (PHYTOFLOW_WITH_TORCH=OFF) and cannot "
        "read model files");
  return {.problem =
              "built without LibTorch: model files cannot be read, corrected abundances not "
              "computed"};
#endif
}

// A CSV cell: numbers as the shortest exact text, NaN as empty, text quoted when needed.
std::string CsvNumber(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : "";
}

std::string CsvText(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (const char c : text) {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

constexpr const char* kCsvHeader =
    "sample_id,name,aphia_id,scientific_name,lifeform,living,count,cells,cells_per_l,"
    "biovolume_um3_per_l,biovolume_esd_um3_per_l,carbon_ug_per_l,validated,predicted,uncertain,"
    "mean_probability,adjusted_cells_per_l,adjusted_lower,adjusted_upper,adjusted_level\n";

std::string CompositionCsvRows(const SampleComposition& composition) {
  std::string rows;
  for (const TaxonComposition& entry : composition.taxa) {
    const std::optional<Taxon>& taxon = entry.taxon;
    const std::optional<AdjustedEstimate>& adjusted = entry.adjusted_cells_per_l;
    rows += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                        CsvText(composition.sample_id),
                        CsvText(entry.name),
                        taxon && taxon->aphia_id ? std::to_string(*taxon->aphia_id) : "",
                        CsvText(taxon ? taxon->scientific_name : ""),
                        taxon ? LifeformName(taxon->lifeform) : "",
                        taxon ? (taxon->Living() ? "true" : "false") : "",
                        entry.total.particles,
                        entry.total.cells,
                        CsvNumber(entry.total.cells_per_l),
                        CsvNumber(entry.total.biovolume_abd_um3_per_l),
                        CsvNumber(entry.total.biovolume_esd_um3_per_l),
                        CsvNumber(entry.total.carbon_ug_per_l),
                        entry.validated.particles,
                        entry.predicted.particles,
                        entry.uncertain.particles,
                        entry.mean_probability ? CsvNumber(*entry.mean_probability) : "",
                        adjusted ? CsvNumber(adjusted->estimate) : "",
                        adjusted ? CsvNumber(adjusted->lower) : "",
                        adjusted ? CsvNumber(adjusted->upper) : "",
                        adjusted ? CsvNumber(adjusted->level) : "");
  }
  return rows;
}

// A per-litre number for the table: 4 significant digits, "-" without a volume.
std::string Cell(double value) {
  return std::isfinite(value) ? fmt::format("{:.4g}", value) : "-";
}

void PrintComposition(const SampleComposition& composition) {
  fmt::print("sample           {}\n", composition.sample_id);
  fmt::print(
      "volume imaged    {}\n",
      composition.volume_imaged_ml
          ? fmt::format("{:.4f} ml = {:.6g} L of seawater (dilution {:g}, concentration {:g})",
                        *composition.volume_imaged_ml,
                        composition.seawater_litres.value_or(NAN),
                        composition.dilution_factor,
                        composition.concentration_factor)
          : "unknown (no per-litre values)");
  fmt::print("model            {}\n", composition.model_id.empty() ? "-" : composition.model_id);
  fmt::print("taxonomy         {}\n", composition.taxonomy_version);
  fmt::print("labels           {} validated, {} predicted, {} uncertain, {} unlabelled\n\n",
             composition.validated,
             composition.predicted,
             composition.uncertain,
             composition.unlabelled);
  fmt::print("{:<28} {:>8} {:<15} {:>6} {:>6} {:>10} {:>11} {:>10} {:>5} {:>5} {:>5}  {}\n",
             "TAXON",
             "APHIA_ID",
             "LIFEFORM",
             "COUNT",
             "CELLS",
             "CELLS/L",
             "BIOVOL um3/L",
             "CARBON ugC/L",
             "VAL",
             "PRED",
             "UNC",
             "CORRECTED CELLS/L [CI]");
  for (const TaxonComposition& entry : composition.taxa) {
    const std::optional<Taxon>& taxon = entry.taxon;
    const std::optional<AdjustedEstimate>& adjusted = entry.adjusted_cells_per_l;
    fmt::print("{:<28} {:>8} {:<15} {:>6} {:>6} {:>10} {:>11} {:>10} {:>5} {:>5} {:>5}  {}\n",
               entry.name,
               taxon && taxon->aphia_id ? std::to_string(*taxon->aphia_id) : "-",
               taxon ? LifeformName(taxon->lifeform) : "(unknown)",
               entry.total.particles,
               entry.total.cells,
               Cell(entry.total.cells_per_l),
               Cell(entry.total.biovolume_abd_um3_per_l),
               Cell(entry.total.carbon_ug_per_l),
               entry.validated.particles,
               entry.predicted.particles,
               entry.uncertain.particles,
               adjusted ? fmt::format("{} [{}, {}] {:g} %",
                                      Cell(adjusted->estimate),
                                      Cell(adjusted->lower),
                                      Cell(adjusted->upper),
                                      adjusted->level * 100)
                        : "");
  }
  for (const auto& [name, quantities] :
       {std::pair<const char*, const Quantities&>{"living total", composition.living},
        std::pair<const char*, const Quantities&>{"all particles", composition.all}}) {
    fmt::print("{:<28} {:>8} {:<15} {:>6} {:>6} {:>10} {:>11} {:>10}\n",
               name,
               "",
               "",
               quantities.particles,
               quantities.cells,
               Cell(quantities.cells_per_l),
               Cell(quantities.biovolume_abd_um3_per_l),
               Cell(quantities.carbon_ug_per_l));
  }
  fmt::print(
      "\n{:<16} {:>8} {:>10} {:>8} {:>10}\n", "ESD (um)", "ALL", "CELLS/L", "LIVING", "CELLS/L");
  for (const SizeClass& size_class : composition.size_classes) {
    if (size_class.all.particles == 0) {
      continue;
    }
    const std::string range =
        std::isinf(size_class.esd_max_um)
            ? fmt::format(">= {:g}", size_class.esd_min_um)
            : fmt::format("{:g}-{:g}", size_class.esd_min_um, size_class.esd_max_um);
    fmt::print("{:<16} {:>8} {:>10} {:>8} {:>10}\n",
               range,
               size_class.all.particles,
               Cell(size_class.all.cells_per_l),
               size_class.living.particles,
               Cell(size_class.living.cells_per_l));
  }
  for (const std::string& warning : composition.warnings) {
    fmt::print("warning: {}\n", warning);
  }
}

void ReportCommand(const ReportArguments& arguments) {
  Check(arguments.all != !arguments.sample_id.empty(),
        ErrorCode::kInvalidInput,
        "report: give either a SAMPLE or --all");
  std::optional<Taxonomy> loaded;
  ComposeOptions options{.taxonomy = &ChosenTaxonomy(arguments.taxonomy, loaded)};
  options.labels.validated_only = arguments.validated_only;
  options.composition.diatom_carbon =
      arguments.carbon == "switch" ? DiatomCarbon::kSwitchAbove3000 : DiatomCarbon::kAllSizes;
  std::string confusion_problem;
  if (!arguments.validated_only) {
    ModelConfusion confusion = ChosenConfusion(arguments);
    if (!arguments.model.empty()) {
      options.labels.model_id = confusion.model_id;  // count this model's predictions
    }
    options.composition.confusion = std::move(confusion.rates);
    options.composition.confusion_model_id = confusion.model_id;
    confusion_problem = confusion.problem;
  }

  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  std::vector<std::string> sample_ids;
  if (arguments.all) {
    for (const Sample& sample : store->ListSamples()) {
      sample_ids.push_back(sample.id);
    }
  } else {
    sample_ids.push_back(arguments.sample_id);
  }

  Json all = Json::array();
  std::string csv = kCsvHeader;
  for (size_t sample_idx = 0; sample_idx < sample_ids.size(); ++sample_idx) {
    SampleComposition composition = ComposeSample(*store, sample_ids[sample_idx], options);
    // Without a confusion matrix, say why only where predictions would have been corrected.
    if (!confusion_problem.empty() && !composition.model_id.empty()) {
      composition.warnings.push_back(confusion_problem);
    }
    if (arguments.json) {
      all.push_back(CompositionJson(composition, arguments.carbon, arguments.validated_only));
    } else if (arguments.csv) {
      csv += CompositionCsvRows(composition);
    } else {
      if (sample_idx > 0) {
        fmt::print("\n");
      }
      PrintComposition(composition);
    }
  }
  if (arguments.json) {
    std::cout << (arguments.all ? all : all[0]).dump(2) << "\n";
  } else if (arguments.csv) {
    std::cout << csv;
  }
}

void TaxonomyShowCommand(const ReportArguments& arguments) {
  std::optional<Taxonomy> loaded;
  const Taxonomy& taxonomy = ChosenTaxonomy(arguments.taxonomy, loaded);
  if (arguments.tsv) {
    std::cout << TaxonomyTsv(taxonomy);
    return;
  }
  fmt::print("taxonomy {} ({} classes)\n", taxonomy.Version(), taxonomy.Taxa().size());
  fmt::print("{:<30} {:>8} {:<30} {:<12} {:<20} {}\n",
             "CLASS",
             "APHIA_ID",
             "SCIENTIFIC NAME",
             "RANK",
             "LIFEFORM",
             "HABITAT");
  for (const Taxon& taxon : taxonomy.Taxa()) {
    fmt::print("{:<30} {:>8} {:<30} {:<12} {:<20} {}\n",
               taxon.class_name,
               taxon.aphia_id ? std::to_string(*taxon.aphia_id) : "-",
               taxon.scientific_name.empty() ? "-" : taxon.scientific_name,
               taxon.rank.empty() ? "-" : taxon.rank,
               LifeformName(taxon.lifeform),
               HabitatName(taxon.habitat));
  }
}

void TaxonomyCheckCommand(const ReportArguments& arguments) {
  const Taxonomy taxonomy = LoadTaxonomy(arguments.check_file);
  int64_t living = 0;
  int64_t with_aphia = 0;
  std::string unpublished;
  for (const Taxon& taxon : taxonomy.Taxa()) {
    living += taxon.Living() ? 1 : 0;
    with_aphia += taxon.aphia_id ? 1 : 0;
    if (taxon.Living() && !taxon.aphia_id) {
      unpublished += (unpublished.empty() ? "" : ", ") + taxon.class_name;
    }
  }
  fmt::print("{}: taxonomy {}, {} classes ({} living, {} with an AphiaID)\n",
             arguments.check_file,
             taxonomy.Version(),
             taxonomy.Taxa().size(),
             living,
             with_aphia);
  if (!unpublished.empty()) {
    fmt::print("living classes without an AphiaID (never published as occurrences): {}\n",
               unpublished);
  }
  if (!arguments.model.empty()) {
#ifdef PHYTOFLOW_WITH_TORCH
    const ModelInfo info = ReadModelInfo(arguments.model);
    taxonomy.RequireAll(info.ClassNames(), "model " + info.id);
    fmt::print("every class of model {} ({} classes) is known\n", info.id, info.classes.size());
#else
    throw Error(ErrorCode::kUnavailable,
                "--model: this phytoflow was built without LibTorch (PHYTOFLOW_WITH_TORCH=OFF) "
                "and cannot read model files");
#endif
  }
}

}  // namespace

void AddReportCommands(CLI::App& app) {
  auto arguments = std::make_shared<ReportArguments>();

  CLI::App* report = app.add_subcommand(
      "report",
      "Composition of samples: count, cells, biovolume and carbon per litre per taxon, "
      "corrected abundances, size classes (docs/composition.md)");
  report->add_option("SAMPLE", arguments->sample_id, "Sample id (see `phytoflow samples`)");
  report->add_flag("--all", arguments->all, "Every sample in the store");
  auto* json = report->add_flag("--json", arguments->json, "Print JSON (an array with --all)");
  report->add_flag("--csv", arguments->csv, "Print CSV, one row per sample and taxon")
      ->excludes(json);
  report->add_option("--taxonomy",
                     arguments->taxonomy,
                     "Taxonomy TSV (default: the built-in one, see `phytoflow taxonomy show`)");
  report->add_option("--model",
                     arguments->model,
                     "Model file: count its predictions and correct them with its validation "
                     "confusion matrix (default: the newest predictions, corrected when they are "
                     "the default model's)");
  report
      ->add_option("--carbon",
                   arguments->carbon,
                   "Diatom carbon: all-sizes (default) or switch (large-diatom equation above "
                   "3000 um3 per cell)")
      ->check(CLI::IsMember({"all-sizes", "switch"}));
  report->add_flag("--validated-only",
                   arguments->validated_only,
                   "Count only validated (expert) labels; predictions are ignored");
  AddStoreOption(*report, arguments->store);
  report->callback([arguments] { ReportCommand(*arguments); });

  CLI::App* taxonomy = app.add_subcommand(
      "taxonomy",
      "The taxonomy table: class names to WoRMS and lifeforms (docs/formats/taxonomy.md)");
  taxonomy->require_subcommand(1);
  CLI::App* show =
      taxonomy->add_subcommand("show", "Print the taxonomy (the built-in one by default)");
  show->add_flag("--tsv", arguments->tsv, "Print it as an editable TSV");
  show->add_option("--taxonomy", arguments->taxonomy, "A taxonomy TSV instead of the built-in one");
  show->callback([arguments] { TaxonomyShowCommand(*arguments); });
  CLI::App* check = taxonomy->add_subcommand(
      "check", "Validate a taxonomy TSV (exit 3 with file:line: column: problem)");
  check->add_option("FILE", arguments->check_file, "Taxonomy TSV")->required();
  check->add_option("--model", arguments->model, "Also require every class of this model file");
  check->callback([arguments] { TaxonomyCheckCommand(*arguments); });
}

}  // namespace phytoflow
